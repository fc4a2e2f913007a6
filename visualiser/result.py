"""Frozen results: the only hand-off from computation to display.

Everything here is numpy arrays and plain Python values, captured during one forward pass.
Renderers, the UI and the CLI read these objects and never touch the network again, so
what they draw is what the network computed. A result is shared (the app caches it across requests), so
every array it holds is read-only, and ``==`` is identity (arrays have no single truth value).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from visualiser.errors import InputError, VisualiserError
from visualiser.types import AttentionKind, GateKind

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --- Notebooks ---------------------------------------------------------------------------------------------------
# A result shows itself in Jupyter (top-5, the channel overview, the spatial grid) and offers its figures as
# matplotlib Figures. Drawing is ``visualiser.render.notebook``'s, a layer above this one: the package root
# (``visualiser/__init__.py``) installs it here with ``use_notebook_drawer``, so this module imports no renderer.


class NotebookDrawer(Protocol):
    """What draws a result for a notebook (``visualiser.render.notebook`` is one)."""

    def figure(self, result: Any, kind: str, **options: Any) -> Figure: ...
    def html(self, result: Any) -> str: ...
    def png(self, result: Any) -> bytes: ...


_NOTEBOOK_DRAWER: list[Callable[[], NotebookDrawer]] = []


def use_notebook_drawer(load: Callable[[], NotebookDrawer]) -> None:
    """Install what draws results in notebooks: ``load()`` returns it when a result is first shown."""
    _NOTEBOOK_DRAWER[:] = [load]


def _notebook_drawer() -> NotebookDrawer:
    if not _NOTEBOOK_DRAWER:
        raise VisualiserError("no notebook drawer is installed: import visualiser (its root installs one)")
    return _NOTEBOOK_DRAWER[0]()


class Notebook:
    """How ``ImageResult`` and ``ClipResult`` show themselves in Jupyter and hand out their figures."""

    __slots__ = ()

    def figure(self, kind: str = "overview", **options: Any) -> Figure:
        """One view of this result as a ``matplotlib.figure.Figure`` (e.g. ``fig.savefig("gates.pdf")``).

        ``ImageResult``: "overview" (every block's channel gates), "spatial" (every spatial gate on the input),
        "predictions", "barcode", "overlay" and "channels" (one block: ``block="layer4.2.se"``, default the
        deepest spatial one). ``ClipResult``: "predictions", "timeline" (``block=``). Options such as ``cmap``
        go to the renderer.
        """
        return _notebook_drawer().figure(self, kind, **options)

    def _repr_html_(self) -> str:
        return _notebook_drawer().html(self)

    def _repr_png_(self) -> bytes:
        return _notebook_drawer().png(self)

    def summary(self) -> str:
        """One line: the model, the input, the top prediction and the blocks recorded."""
        model = getattr(self, "model_title", "")
        source = getattr(self, "source", "") or "pixels"
        predictions = getattr(self, "predictions", ())
        top = f"{predictions[0].label} ({predictions[0].probability:.1%})" if predictions else "no predictions"
        frame = self.frame_blocks(0) if isinstance(self, ClipResult) else getattr(self, "blocks", ())
        kinds = "/".join(sorted({b.kind for b in frame})) or "no attention"
        return f"{model} on {source}: {top}; {len(frame)} attention block(s) ({kinds})"


# --- Frozen results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """One class score."""

    index: int
    label: str
    probability: float


@dataclass(frozen=True)
class CropGeometry:
    """How the model input maps back onto the original image.

    The original (``original_size`` = (W, H)) was resized to ``resized_size`` and then the box
    ``crop_box`` = (left, top, right, bottom), in resized pixels, was cut out and fed to the model.
    """

    original_size: tuple[int, int]
    resized_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]

    def crop_in_original(self) -> tuple[float, float, float, float]:
        """The model's field of view as (left, top, right, bottom) in original-image pixels."""
        sx = self.original_size[0] / self.resized_size[0]
        sy = self.original_size[1] / self.resized_size[1]
        left, top, right, bottom = self.crop_box
        return (left * sx, top * sy, right * sx, bottom * sy)


@dataclass(frozen=True, eq=False)
class BlockAttention:
    """What one attention module computed for one input (batch element).

    Arrays are ``None`` where the module kind has no such quantity. Channel vectors are (C,);
    spatial maps are (H, W) for 2-D models and (T, H, W) for 3-D models.
    """

    name: str  # qualified module name, e.g. "layer3.1.se"
    stage: int  # 1-based ResNet stage
    block: int  # 0-based block index within the stage
    kind: AttentionKind  # "se" | "cbam" | "eca" (our modules); a found module's recognised kind otherwise
    channels: int
    channel_gate: np.ndarray | None = None
    squeeze: np.ndarray | None = None
    avg_logits: np.ndarray | None = None
    max_logits: np.ndarray | None = None
    spatial_gate: np.ndarray | None = None
    spatial_logits: np.ndarray | None = None
    mean_map: np.ndarray | None = None
    max_map: np.ndarray | None = None
    spatial_kernel: np.ndarray | None = None  # learned (2, k, k[, k]) weights, channel order as ``spatial_order``
    spatial_order: str | None = None  # "max_mean" | "mean_max"

    def __post_init__(self) -> None:
        freeze_arrays(self)

    @property
    def label(self) -> str:
        """Short display label, e.g. "S3·B1 cbam"."""
        return f"S{self.stage}·B{self.block} {self.kind}"


@dataclass(frozen=True, eq=False)
class ImageResult(Notebook):
    """The full analysis of one image by one model."""

    model: str
    model_title: str
    predictions: tuple[Prediction, ...]
    probabilities: np.ndarray  # (num_classes,)
    input_image: np.ndarray  # (h, w, 3) uint8: the crop the model saw, before normalisation
    original_image: np.ndarray  # (H, W, 3) uint8: the decoded upload
    geometry: CropGeometry
    blocks: tuple[BlockAttention, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    gradcam: np.ndarray | None = None  # (h', w') Grad-CAM of the top-1 class at the last stage, in [0, 1]
    gradcam_class: int | None = None
    source: str = ""  # the input's file name (never a server path), "" for pixels or bytes
    source_sha1: str = ""  # SHA-1 of the input file's bytes ("" for pixels): which file this result is of
    outside_notice: str = ""  # the input is not what an embedded network learned: one sentence ("" otherwise)
    modules: tuple[FoundModule, ...] = ()  # a user's network: every attention module found, and how
    note: str = ""  # e.g. why there are no predictions (a network without class output)
    checkpoint: Mapping[str, Any] | None = None  # an uploaded checkpoint: what was read and assumed (JSON-ready)

    def __post_init__(self) -> None:
        freeze_arrays(self)

    def block(self, name: str | None) -> BlockAttention:
        """The block called ``name`` (see :func:`find_block`)."""
        return find_block(self.blocks, name, self.model_title)

    @property
    def spatial_blocks(self) -> tuple[BlockAttention, ...]:
        """Blocks that carry a spatial gate (CBAM)."""
        return tuple(b for b in self.blocks if b.spatial_gate is not None)

    @property
    def focus_block(self) -> BlockAttention | None:
        """The block shown first (see :func:`focus_block`)."""
        return focus_block(self.blocks)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (scalars, predictions, shapes); arrays go to the NPZ in ``save``."""
        return {
            "model": self.model,
            "model_title": self.model_title,
            "predictions": [vars(p) for p in self.predictions],
            "geometry": {
                "original_size": list(self.geometry.original_size),
                "resized_size": list(self.geometry.resized_size),
                "crop_box": list(self.geometry.crop_box),
            },
            "blocks": [_block_summary(b) for b in self.blocks],
            "timings": dict(self.timings),
            "gradcam_class": self.gradcam_class,
            "source": self.source,
            "source_sha1": self.source_sha1,
            "outside_notice": self.outside_notice,
            "modules": [m.to_json() for m in self.modules],
            "note": self.note,
            **({"checkpoint": dict(self.checkpoint)} if self.checkpoint is not None else {}),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array, keyed ``<block name>/<field>`` (plus image-level arrays)."""
        out: dict[str, np.ndarray] = {"probabilities": self.probabilities, "input_image": self.input_image}
        if self.gradcam is not None:
            out["gradcam"] = self.gradcam
        for b in self.blocks:
            for f in fields(b):
                value = getattr(b, f.name)
                if isinstance(value, np.ndarray):
                    out[f"{b.name}/{f.name}"] = value
        return out

    def save(self, directory: str | Path, stem: str = "result") -> list[Path]:
        """Write ``<stem>.json`` and ``<stem>.npz`` into ``directory``; returns the paths."""
        return _save(directory, stem, self.to_json(), self.arrays(), self.checkpoint)


@dataclass(frozen=True, eq=False)
class ClipResult(Notebook):
    """The analysis of a clip: per-frame results for 2-D models, one spatio-temporal record for 3-D ones."""

    model: str
    model_title: str
    frames: np.ndarray  # (T, H, W, 3) uint8 sampled frames
    timestamps: np.ndarray  # (T,) seconds
    predictions: tuple[Prediction, ...]  # clip level (3-D) or mean over frames (2-D)
    probabilities: np.ndarray  # (num_classes,)
    per_frame: tuple[ImageResult, ...] = ()  # 2-D models: one per sampled frame
    blocks: tuple[BlockAttention, ...] = ()  # 3-D models: spatial maps are (T', H', W')
    input_frames: np.ndarray | None = None  # 3-D models: (T, h, w, 3) uint8 crop the model saw
    geometry: CropGeometry | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    source: str = ""  # the input's file name (never a server path), "" for arrays
    source_sha1: str = ""  # SHA-1 of the input file's bytes ("" for arrays)
    outside_notice: str = ""  # the input is not what an embedded network learned: one sentence ("" otherwise)
    modules: tuple[FoundModule, ...] = ()  # a user's network: every attention module found, and how
    note: str = ""  # e.g. why there are no predictions (a network without class output)
    checkpoint: Mapping[str, Any] | None = None  # an uploaded checkpoint: what was read and assumed (JSON-ready)

    def __post_init__(self) -> None:
        freeze_arrays(self)

    @property
    def is_3d(self) -> bool:
        """True when one 3-D network saw the whole clip."""
        return not self.per_frame

    def frame_blocks(self, index: int = 0) -> tuple[BlockAttention, ...]:
        """The blocks at one sampled frame: the clip's own (3-D models) or that frame's (image models)."""
        if self.is_3d:
            return self.blocks
        if not 0 <= index < len(self.per_frame):
            raise InputError(f"frame must be between 0 and {len(self.per_frame) - 1}, not {index}")
        return self.per_frame[index].blocks

    def block(self, name: str | None, index: int = 0) -> BlockAttention:
        """The block called ``name`` at frame ``index`` (see :func:`find_block`)."""
        return find_block(self.frame_blocks(index), name, self.model_title)

    @property
    def focus_block(self) -> BlockAttention | None:
        """The block shown first (see :func:`focus_block`)."""
        return focus_block(self.frame_blocks(0)) if self.blocks or self.per_frame else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "model": self.model,
            "model_title": self.model_title,
            "timestamps": [float(t) for t in self.timestamps],
            "predictions": [vars(p) for p in self.predictions],
            "is_3d": self.is_3d,
            "per_frame": [
                {"timestamp": float(t), "predictions": [vars(p) for p in r.predictions[:3]]}
                for t, r in zip(self.timestamps, self.per_frame, strict=False)
            ],
            "blocks": [_block_summary(b) for b in self.blocks],
            "timings": dict(self.timings),
            "source": self.source,
            "source_sha1": self.source_sha1,
            "outside_notice": self.outside_notice,
            "modules": [m.to_json() for m in self.modules],
            "note": self.note,
            **({"checkpoint": dict(self.checkpoint)} if self.checkpoint is not None else {}),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array; per-frame ones are prefixed ``frame<i>/``."""
        out: dict[str, np.ndarray] = {"probabilities": self.probabilities, "timestamps": self.timestamps}
        for i, r in enumerate(self.per_frame):
            for k, v in r.arrays().items():
                out[f"frame{i}/{k}"] = v
        for b in self.blocks:
            for f in fields(b):
                value = getattr(b, f.name)
                if isinstance(value, np.ndarray):
                    out[f"{b.name}/{f.name}"] = value
        return out

    def save(self, directory: str | Path, stem: str = "result") -> list[Path]:
        """Write ``<stem>.json`` and ``<stem>.npz`` into ``directory``."""
        return _save(directory, stem, self.to_json(), self.arrays(), self.checkpoint)


@dataclass(frozen=True, eq=False)
class InterventionResult:
    """Predictions before and after forcing some gates, from two real forward passes."""

    model: str
    description: str  # e.g. "layer4.2.se: gate set to 1 (identity)"
    before: tuple[Prediction, ...]
    after: tuple[Prediction, ...]
    probabilities_before: np.ndarray
    probabilities_after: np.ndarray

    def __post_init__(self) -> None:
        freeze_arrays(self)


def freeze_arrays(result: object) -> None:
    """Make every array field of a frozen result read-only (a read-only view where the array was writable)."""
    for f in fields(result):  # type: ignore[arg-type]
        value = getattr(result, f.name)
        if isinstance(value, np.ndarray) and value.flags.writeable:
            view = value.view()
            view.flags.writeable = False
            object.__setattr__(result, f.name, view)


def find_block(blocks: tuple[BlockAttention, ...], name: str | None, owner: str = "this model") -> BlockAttention:
    """The block called ``name``; otherwise an ``InputError`` naming the blocks there are (the one lookup)."""
    for block in blocks:
        if block.name == name:
            return block
    names = ", ".join(b.name for b in blocks) or "none"
    raise InputError(f"{owner} has no attention block {name!r}; its blocks: {names}")


def focus_block(blocks: tuple[BlockAttention, ...]) -> BlockAttention | None:
    """The deepest block with a spatial gate (closest to the decision), else the deepest block; None if none."""
    spatial = [b for b in blocks if b.spatial_gate is not None]
    if spatial:
        return spatial[-1]
    return blocks[-1] if blocks else None


def _block_summary(b: BlockAttention) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "name": b.name,
        "stage": b.stage,
        "block": b.block,
        "kind": b.kind,
        "channels": b.channels,
    }
    if b.channel_gate is not None:
        g = b.channel_gate
        summary["channel_gate"] = {
            "mean": float(g.mean()),
            "std": float(g.std()),
            "share_above_0_9": float((g > 0.9).mean()),
            "share_below_0_1": float((g < 0.1).mean()),
        }
    if b.spatial_gate is not None:
        s = b.spatial_gate
        summary["spatial_gate"] = {"shape": list(s.shape), "min": float(s.min()), "max": float(s.max())}
    return summary


def _save(
    directory: str | Path,
    stem: str,
    manifest: dict[str, Any],
    arrays: dict[str, np.ndarray],
    checkpoint: Mapping[str, Any] | None,
) -> list[Path]:
    """Both files in one go; an uploaded checkpoint's provenance goes into the JSON and the NPZ alike."""
    if checkpoint is not None:
        arrays = {**arrays, "checkpoint/provenance": np.array(json.dumps(dict(checkpoint), ensure_ascii=False))}
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{stem}.json"
    npz_path = out / f"{stem}.npz"
    manifest = dict(manifest, arrays={k: list(v.shape) for k, v in arrays.items()})
    json_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    np.savez_compressed(npz_path, **arrays)
    return [json_path, npz_path]


@dataclass(frozen=True)
class FoundModule:
    """One attention block found in a network (ours or foreign), and how its gates are recorded.

    ``kind`` says what it gates; ``attention`` is the ``BlockAttention.kind`` its records carry. Every
    reason is a sentence a person can check against the model's code.
    """

    name: str  # the block name its BlockAttention records carry
    kind: GateKind  # "channel" | "spatial" | "both"
    attention: AttentionKind  # "se" | "cam" | "sam" | "cbam" | "eca" | "gate"
    dims: int  # 2 (images) or 3 (clips)
    channels: int  # channels of the gated feature map
    layout: str  # the known layout it has ("timm SEModule: ...") or "unknown (found at run time)"
    reason: str  # why it was recognised: structure and/or what its forward did
    capture: str  # how each gate is taken: a forward hook on a submodule, or the function mode
    members: tuple[str, ...] = ()  # module paths whose calls are recorded (a CBAM's two halves)
    gates: tuple[str, ...] = ()  # BlockAttention fields it fills: "channel_gate", "spatial_gate"
    internals: tuple[str, ...] = ()  # further fields it fills: "squeeze", "avg_logits", ...
    unavailable: tuple[tuple[str, str], ...] = ()  # (field, why it is not recorded)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (for result bundles and the API)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "attention": self.attention,
            "dims": self.dims,
            "channels": self.channels,
            "layout": self.layout,
            "reason": self.reason,
            "capture": self.capture,
            "members": list(self.members),
            "gates": list(self.gates),
            "internals": list(self.internals),
            "unavailable": {field: why for field, why in self.unavailable},
        }
