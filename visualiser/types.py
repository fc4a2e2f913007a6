"""The project's small shared vocabulary: what a model analyses, what an attention module gates, progress.

Torch-free (numpy only), so the registry, the frozen results, the catalogue and the UI all name the
same things the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

import numpy as np

Task = Literal["image", "clip"]
# What an attention module (or a whole network's blocks) gates: "cbam" is channel then spatial, "cam" / "sam"
# its channel / spatial half alone, "gate" a gate of no known family; "none" a network without attention.
AttentionKind = Literal["none", "se", "cbam", "eca", "cam", "sam", "gate"]
# The attention the project's own network families can be built with.
BuiltAttention = Literal["none", "se", "cbam", "eca"]
# What a discovered module gates, in plain words (the foreign-network watcher's classification).
GateKind = Literal["channel", "spatial", "both"]
ProgressFn = Callable[[float, str], None]
# An image as callers hand it over: a path, the file's bytes, or decoded (H, W, 3) uint8 pixels.
ImageSource = str | os.PathLike | bytes | np.ndarray

TASKS: tuple[Task, ...] = ("image", "clip")
