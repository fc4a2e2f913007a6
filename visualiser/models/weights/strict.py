"""The one strict loader: every key present, none extra, every shape equal, or a sentence naming what differs.

A silently half-loaded network still predicts something, and that something is wrong; so nothing is loaded
unless it fits exactly. ``check_fit`` compares shapes only, so a user's checkpoint is checked against a
network built on the meta device before any of its tensors is read; ``load_into`` checks again and loads.
Files are read by ``models.checkpoints`` (the one reader), never here.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError

if TYPE_CHECKING:
    import torch
    from torch import nn

COUNTER_SUFFIX = "num_batches_tracked"  # older checkpoints lack BatchNorm's counters; evaluation never reads them


def listed(items: Sequence[str], n: int = 6) -> str:
    """The first ``n`` items and how many more."""
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def shapes_of(state: Mapping[str, object]) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of tensors (meta ones too) or of shapes already."""
    return {k: tuple(getattr(v, "shape", v)) for k, v in state.items()}  # type: ignore[arg-type]


def check_fit(
    expected: Mapping[str, Sequence[int]],
    given: Mapping[str, Sequence[int]],
    failure: str,
    original: Mapping[str, str] | None = None,
) -> None:
    """Raise WeightsError ``"<failure>: missing keys ...; unexpected keys ...; shapes that differ ..."``.

    ``expected`` and ``given`` map our key names to shapes; ``original`` names a given key as the file does
    (when the checkpoint's layout was renamed into ours), so the message speaks the checkpoint's language.
    Only ``num_batches_tracked`` counters may be missing.
    """
    named = original or {}
    missing = [k for k in expected if k not in given and not k.endswith(COUNTER_SUFFIX)]
    unexpected = [named.get(k, k) for k in given if k not in expected]
    wrong = [
        f"{named.get(k, k)} {tuple(shape)} vs {tuple(expected[k])}"
        for k, shape in given.items()
        if k in expected and tuple(shape) != tuple(expected[k])
    ]
    if missing or unexpected or wrong:
        parts = [f"missing keys: {listed(missing)}"] if missing else []
        parts += [f"unexpected keys: {listed(unexpected)}"] if unexpected else []
        parts += [f"shapes that differ (checkpoint vs ours): {listed(wrong)}"] if wrong else []
        raise WeightsError(f"{failure}: " + "; ".join(parts))


def load_into(
    model: nn.Module, state: Mapping[str, torch.Tensor], source_desc: str, *, assign: bool = False
) -> nn.Module:
    """Load ``state`` (our key names) into ``model`` exactly, or raise WeightsError naming what does not fit.

    Tensors are converted to the model's dtype (a float16 checkpoint into our float32 modules). ``assign``
    hands the tensors themselves to a model built on the meta device instead of copying them into
    initialised parameters (for a ResNet-50 that saves 0.5-1 s and a second copy of every weight).
    """
    import torch

    expected = model.state_dict()
    check_fit(shapes_of(expected), shapes_of(state), f"the weights from {source_desc} do not fit the architecture")
    full: dict[str, torch.Tensor] = {}
    for key, ours in expected.items():
        value = state.get(key)
        if value is None:  # only a counter can be absent (check_fit)
            value = torch.zeros((), dtype=ours.dtype) if ours.is_meta else ours
        elif value.dtype != ours.dtype:
            value = value.to(ours.dtype)
        full[key] = value
    model.load_state_dict(full, strict=True, assign=assign)
    if assign:
        left = [n for n, t in itertools.chain(model.named_parameters(), model.named_buffers()) if t.is_meta]
        if left:
            raise WeightsError(f"{source_desc}: no tensor was loaded for {listed(left)}")
    return model
