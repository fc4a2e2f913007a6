"""The recorded forward of a job: every batch through the network at one fixed batch size, gates kept per block.

The forward pass is ``analysis.recorded_forward`` (the app's own recording: taps for our networks, the watch for
a user's), so the statistics describe exactly what the app draws. A short batch (the last one, or one with
skipped files) is padded with zeros to the job's batch size and the padding's outputs are dropped: on a CPU each
input's gates then do not depend on which inputs share its batch or how many (measured: bit-identical), which
is what lets two engines that batch differently agree to the last bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from visualiser.analysis import Foreign, recorded_forward
from visualiser.dataset.decode import DecodedBatch, Prepare
from visualiser.dataset.pointing import pointing_hits
from visualiser.dataset.sums import GateSums


@dataclass(frozen=True)
class BatchGates:
    """Channel gates (n, C) and spatial gates (n, [T,] h, w) of one batch, per block in forward order."""

    channel: dict[str, np.ndarray]
    spatial: dict[str, np.ndarray]


@dataclass(frozen=True)
class ModelPackage:
    """What a worker needs to run the model: the module, and for a user's network the options it was found with.

    Plain data plus the module, so it can travel to a Ray actor; the actor rebuilds the discovery itself.
    """

    name: str
    model: nn.Module
    prepare: Prepare
    foreign: bool = False
    scores: object = None  # a user's scores= function


class GateRunner:
    """Holds a model in eval mode and turns batches of inputs into gates, and batches into sums."""

    def __init__(self, model: nn.Module, foreign: Foreign | None, batch_size: int, device: str = "cpu") -> None:
        self.model = model.eval().to(device)
        self.foreign = foreign
        self.batch_size = batch_size
        self.device = torch.device(device)

    @classmethod
    def from_package(cls, package: ModelPackage, batch_size: int, device: str = "cpu") -> GateRunner:
        """A runner in another process: our network as it is, a user's found again with the same options."""
        foreign = None
        if package.foreign:
            from visualiser.pipeline.foreign import foreign_model

            pre = package.prepare.transform or package.prepare.preprocess
            foreign = foreign_model(package.model, preprocess=pre, scores=package.scores).foreign  # type: ignore[arg-type]
        return cls(package.model, foreign, batch_size, device)

    @torch.no_grad()
    def gates(self, x: torch.Tensor) -> BatchGates:
        """The gates of every input of ``x`` (n ≤ batch size), from one recorded pass at the fixed batch size."""
        n = x.shape[0]
        if n > self.batch_size:
            raise ValueError(f"a batch of {n} inputs is larger than the job's batch size {self.batch_size}")
        if n < self.batch_size:
            x = torch.cat([x, x.new_zeros((self.batch_size - n, *x.shape[1:]))])
        record = recorded_forward(self.model, x.to(self.device), foreign=self.foreign)
        channel: dict[str, np.ndarray] = {}
        spatial: dict[str, np.ndarray] = {}
        for position, block in enumerate(record.blocks[0]):
            if block.channel_gate is not None:
                channel[block.name] = np.stack([record.blocks[i][position].channel_gate for i in range(n)])
            if block.spatial_gate is not None:
                spatial[block.name] = np.stack([record.blocks[i][position].spatial_gate for i in range(n)])
        return BatchGates(channel, spatial)

    def reduce(self, batch: DecodedBatch, classes: tuple[str, ...]) -> GateSums | None:
        """The sums of one decoded batch (None when none of its rows could be used)."""
        if batch.inputs is None or batch.size == 0:
            return None
        gates = self.gates(batch.inputs)
        hits = None
        if batch.targets is not None:
            hits = {block: pointing_hits(maps, batch.targets) for block, maps in gates.spatial.items()}
        return GateSums.from_batch(classes, batch.labels, gates.channel, hits, batch.scored)


def model_digest(model: nn.Module) -> str:
    """SHA-1 of every parameter and buffer (names, shapes, bytes): which weights a run's sums belong to."""
    digest = hashlib.sha1(usedforsecurity=False)
    for name, value in model.state_dict().items():
        tensor = value.detach().to("cpu").contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
