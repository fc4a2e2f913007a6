"""From listed files to network inputs, the app's way: decode with its limits, preprocess with the model's recipe.

Runs in the decode workers (local engine) or Ray tasks, so everything here is plain data and functions. A file
that cannot be used (corrupt, not an image, over a limit, a mask that does not fit) becomes a failure with the
reason in one sentence; the rest of its batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from visualiser.dataset.pointing import mask_in_input
from visualiser.errors import InputError, VisualiserError
from visualiser.models.registry import Preprocess
from visualiser.types import Task

ImageTransform = Callable[[np.ndarray], torch.Tensor]
Rows = Mapping[str, np.ndarray]  # columns of listed rows: "index", "label", "path", "mask" (file sources)


@dataclass(frozen=True)
class Prepare:
    """How a model's inputs are made: the task, its ``Preprocess``, or a user's callable (then no masks)."""

    task: Task
    preprocess: Preprocess
    transform: ImageTransform | None = None

    @property
    def frames(self) -> int:
        """Frames a clip model takes (16 when the spec does not say)."""
        return self.preprocess.frames or 16

    @property
    def uses_masks(self) -> bool:
        """Masks can be carried into the input frame only when the crop geometry is known."""
        return self.transform is None


@dataclass
class DecodedBatch:
    """The usable inputs of one batch of rows, with what the pointing game needs, and the failures."""

    index: np.ndarray  # (n,) int64 row numbers of the decoded inputs
    inputs: torch.Tensor | None  # (n, 3, S, S) or (n, 3, T, S, S); None when no row could be used
    labels: np.ndarray  # (n,) int64
    targets: np.ndarray | None = None  # (n, S, S) / (n, T, S, S) bool object masks in the input frame
    scored: np.ndarray | None = None  # (n,) bool: which inputs have a mask
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # (row, path, reason)
    first_row: int = 0  # the batch's rows: first_row .. first_row + rows - 1, used or not
    rows: int = 0

    @property
    def size(self) -> int:
        """Usable inputs."""
        return int(self.index.shape[0])


def _image_input(path: str, prepare: Prepare, mask_path: str) -> tuple[torch.Tensor, np.ndarray | None]:
    from visualiser.media import load_image
    from visualiser.preprocess import preprocess_image

    pixels = load_image(path)
    if prepare.transform is not None:
        x = prepare.transform(pixels)
        x = (x[None] if x.dim() == 3 else x).float()
        if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
            raise InputError(f"preprocess= must return a (3, h, w) or (1, 3, h, w) tensor, not {tuple(x.shape)}")
        return x[0], None
    x, _, geometry = preprocess_image(pixels, prepare.preprocess)
    target = None
    if mask_path:
        try:
            target = mask_in_input(_read_mask(mask_path), geometry, prepare.preprocess.input_size)
        except ValueError as e:
            raise InputError(f"its mask {mask_path}: {e}") from e
    return x[0], target


def _read_mask(path: str) -> np.ndarray:
    """(H, W) bool: any non-zero pixel is object."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L")) > 0
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise InputError(f"its mask {path} cannot be read ({e})") from e


def _clip_input(path: str, prepare: Prepare) -> torch.Tensor:
    from visualiser.media import load_clip
    from visualiser.pipeline.clip import pad_frames
    from visualiser.preprocess import preprocess_clip

    clip = load_clip(path, num_frames=prepare.frames)
    x, _, _ = preprocess_clip(pad_frames(clip.frames, prepare.frames), prepare.preprocess)
    return x[0]


def decode_files(rows: Rows, prepare: Prepare) -> DecodedBatch:
    """Decode and preprocess each listed file; a file that fails is named with its reason and left out."""
    index, tensors, labels, targets, failures = [], [], [], [], []
    masks = rows.get("mask")
    for k, (row, path, label) in enumerate(zip(rows["index"], rows["path"], rows["label"], strict=True)):
        mask_path = str(masks[k]) if masks is not None and prepare.uses_masks else ""
        try:
            if prepare.task == "clip":
                x, target = _clip_input(str(path), prepare), None
            else:
                x, target = _image_input(str(path), prepare, mask_path)
        except (VisualiserError, OSError, ValueError) as e:
            failures.append((int(row), str(path), _reason(e)))
            continue
        if tensors and x.shape != tensors[0].shape:
            failures.append(
                (int(row), str(path), f"its input is {tuple(x.shape)}, the others' {tuple(tensors[0].shape)}")
            )
            continue
        index.append(int(row))
        tensors.append(x)
        labels.append(int(label))
        targets.append(target)
    scored = np.array([t is not None for t in targets], bool)
    stacked = None
    if scored.any():
        size = next(t for t in targets if t is not None).shape
        stacked = np.stack([t if t is not None else np.zeros(size, bool) for t in targets])
    return DecodedBatch(
        index=np.array(index, np.int64),
        inputs=torch.stack(tensors) if tensors else None,
        labels=np.array(labels, np.int64),
        targets=stacked,
        scored=scored if stacked is not None else None,
        failures=failures,
        first_row=int(rows["index"][0]),
        rows=len(rows["index"]),
    )


def _reason(error: Exception) -> str:
    """One sentence for the report: the user-facing message, or the system's for a file-system error."""
    if isinstance(error, VisualiserError):
        return str(error)
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error) or type(error).__name__
