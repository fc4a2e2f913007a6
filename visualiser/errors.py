"""The one exception type whose message is meant for the user.

Everything that can go wrong because of what a user sent (a corrupt file, a bomb, an
unknown model, weights that are not on this machine) raises a subclass of
``VisualiserError`` with a sentence a person can act on. The UI turns it into ``gr.Error``,
the CLI into ``error: ...`` and exit status 2. Anything else is a bug.
"""

from __future__ import annotations


class VisualiserError(Exception):
    """A failure whose message can be shown to the user as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(VisualiserError):
    """The image or clip cannot be used (corrupt, too large, unsupported, empty)."""


class WeightsError(VisualiserError):
    """Model weights are missing, unreachable, corrupt or do not fit the architecture."""


class ModelNotFoundError(VisualiserError):
    """The requested model name is not in the registry."""
