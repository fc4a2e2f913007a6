"""Run a model over batches and keep its logits and every attention gate, per block.

Each batch is one ``recorded_forward``, the path the app's results take, so the statistics and the pointing
game score exactly what the app draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from visualiser.analysis import Foreign, recorded_forward


@dataclass
class GateRecord:
    """Everything collected over a pass: logits, channel gates (N, C) and spatial gates per block."""

    logits: list[np.ndarray] = field(default_factory=list)
    channel: dict[str, list[np.ndarray]] = field(default_factory=dict)
    spatial: dict[str, list[np.ndarray]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def stacked_logits(self) -> np.ndarray:
        """(N, K) logits of every input, in order."""
        return np.concatenate(self.logits)

    def stacked_channel(self) -> dict[str, np.ndarray]:
        """Block name → (N, C) channel gates, in forward order."""
        return {k: np.concatenate(v) for k, v in self.channel.items()}

    def stacked_spatial(self) -> dict[str, np.ndarray]:
        """Block name → (N, h, w) or (N, T, h, w) spatial gates."""
        return {k: np.concatenate(v) for k, v in self.spatial.items()}


@torch.no_grad()
def collect_gates(
    model: nn.Module, batches: Iterable[torch.Tensor], record: GateRecord | None = None, foreign: Foreign | None = None
) -> GateRecord:
    """Forward every batch through ``model`` (in eval mode) and record logits and gates.

    ``foreign``: a user's network (``pipeline.foreign_model(...).foreign``); its scores are (N, 0) when it
    has no class output.
    """
    record = record or GateRecord()
    model.eval()
    for x in batches:
        recorded = recorded_forward(model, x, foreign=foreign)
        record.logits.append(recorded.scores if recorded.scores is not None else np.zeros((x.shape[0], 0), np.float32))
        per_element = recorded.blocks
        for position, block in enumerate(per_element[0]):
            record.kinds[block.name] = block.kind
            if block.channel_gate is not None:
                gates = np.stack([blocks[position].channel_gate for blocks in per_element])  # (B, C)
                record.channel.setdefault(block.name, []).append(gates)
            if block.spatial_gate is not None:
                maps = np.stack([blocks[position].spatial_gate for blocks in per_element])  # (B, [T,] h, w)
                record.spatial.setdefault(block.name, []).append(maps)
    return record
