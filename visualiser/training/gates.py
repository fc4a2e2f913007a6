"""Run a model over batches and keep its logits and every attention gate, per block.

The gates come from ``AttentionRecorder`` (the same taps the app shows), so the statistics and
the pointing game score exactly what the app draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from visualiser.capture import AttentionRecorder, attention_modules


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


def channel_gate_tap(kind: str) -> str:
    """The tap (below the block's attention module) that holds its channel gate."""
    return "channel.gate" if kind == "cbam" else "gate"


@torch.no_grad()
def collect_gates(model: nn.Module, batches: Iterable[torch.Tensor], record: GateRecord | None = None) -> GateRecord:
    """Forward every batch through ``model`` (in eval mode) and record logits and gates."""
    record = record or GateRecord()
    blocks = list(attention_modules(model))
    for name, module in blocks:
        record.kinds[name] = module.kind
    model.eval()
    for x in batches:
        with AttentionRecorder(model) as rec:
            logits = model(x)
        record.logits.append(logits.float().numpy())
        for name, module in blocks:
            taps = rec.module_taps(name)
            gate = taps.get(channel_gate_tap(module.kind))
            if gate is not None:
                record.channel.setdefault(name, []).append(gate.reshape(gate.shape[0], -1).float().numpy())  # (B, C)
            spatial = taps.get("spatial.gate") if module.kind == "cbam" else None
            if spatial is not None:
                record.spatial.setdefault(name, []).append(spatial[:, 0].float().numpy())  # (B, [T,] h, w)
    return record
