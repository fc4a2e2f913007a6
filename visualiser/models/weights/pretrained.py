"""``load_pretrained``: fetch, read, remap and strictly load a spec's weights into its freshly built network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from visualiser.errors import WeightsError
from visualiser.models.checkpoints import CATALOGUE_MAX_BYTES, read_checkpoint
from visualiser.models.registry import ModelSpec
from visualiser.models.weights.fetch import fetch_weights
from visualiser.models.weights.remap import remap_state_dict
from visualiser.models.weights.strict import load_into
from visualiser.types import ProgressFn

if TYPE_CHECKING:
    from torch import nn


def load_pretrained(
    model: nn.Module, spec: ModelSpec, allow_download: bool = True, progress: ProgressFn | None = None
) -> nn.Module:
    """Fetch (reporting a download to ``progress``), read, remap and strictly load ``spec``'s weights into ``model``."""
    path = fetch_weights(spec, allow_download=allow_download, progress=progress)
    try:
        tensors = read_checkpoint(path, limit=CATALOGUE_MAX_BYTES, shown=str(path))
    except WeightsError as e:
        if spec.weights.kind == "embedded":
            advice = (
                f"reinstall the project, or retrain it in the repository: `python -m tools.training train {spec.name}`"
            )
        else:
            advice = f"delete it and run `python -m visualiser fetch {spec.name}` again"
        raise WeightsError(f"{e}; {advice}") from e
    state = remap_state_dict(tensors, spec.weights.key_map)
    return load_into(model, state, f"{path} ({spec.name})")
