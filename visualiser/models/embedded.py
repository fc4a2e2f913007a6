"""The small models this project trains and ships under ``assets/models/``.

Entries use ``WeightsSource(kind="embedded", location=<path under assets/>)`` and build from the
same ``ResNetConfig`` / ``VideoResNetConfig`` code as the published networks, so what the app
shows about them is computed by exactly the layers that are parity-tested in ``tests/test_parity.py``.

The three image models differ only in their attention (none, SE, CBAM), so comparing them
isolates what attention does. Their architecture configs live here and nowhere else: the
training code (``tools.training`` in the repository, not shipped) builds them through the registry. Each model's card
(``<name>.card.json``, written by training) supplies the checksum and the headline metrics.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from visualiser.models.configs import ResNetConfig, VideoResNetConfig
from visualiser.models.registry import ModelSpec, Preprocess, WeightsSource, register
from visualiser.paths import ASSETS_DIR, EXAMPLES_DIR
from visualiser.types import Task

if TYPE_CHECKING:  # torch loads when a model is first built
    from torch import nn

SHAPE_CLASSES = 8
MOTION_CLASSES = 8
# The generated data are not ImageNet photos; these are their rough pixel statistics.
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)

SE_OPTIONS: tuple[tuple[str, object], ...] = (("reduction", 4),)
# Official CBAM layout: nn.Linear MLP with bias, channel order [max, mean] into a 7x7 spatial conv.
CBAM_OPTIONS: tuple[tuple[str, object], ...] = (
    ("reduction", 4),
    ("mlp_form", "linear"),
    ("spatial_kernel", 7),
    ("order", "max_mean"),
)

SHAPES_BASE = ResNetConfig(
    block="basic",
    layers=(1, 1, 1, 1),
    widths=(16, 32, 96, 192),
    stem="small",
    stem_width=16,
    num_classes=SHAPE_CLASSES,
)
SHAPES_CONFIGS: dict[str, ResNetConfig] = {
    "shapes_plain": SHAPES_BASE,
    "shapes_se": replace(SHAPES_BASE, attn="se", attn_options=SE_OPTIONS),
    "shapes_cbam": replace(SHAPES_BASE, attn="cbam", attn_options=CBAM_OPTIONS),
}
SHAPES_PREPROCESS = Preprocess(input_size=96, crop_pct=1.0, interpolation="bilinear", mean=MEAN, std=STD)

# Stem and stage strides chosen for 16×64×64 clips: T×H×W goes 16×32×32 → 16×16×16 → 8×8×8 → 4×4×4 → 4×4×4.
MOTION_CONFIG = VideoResNetConfig(
    conv="3d",
    layers=(1, 1, 1, 1),
    widths=(16, 32, 64, 128),
    stage_strides=((1, 2, 2), (2, 2, 2), (2, 2, 2), (1, 1, 1)),
    stem_width=16,
    stem_kernel=(3, 5, 5),
    stem_stride=(1, 2, 2),
    attn="cbam",
    attn_options=CBAM_OPTIONS,
    num_classes=MOTION_CLASSES,
)
MOTION_PREPROCESS = Preprocess(input_size=64, crop_pct=1.0, interpolation="bilinear", mean=MEAN, std=STD, frames=16)

_TITLES = {
    "shapes_plain": "Shapes ResNet-10 (no attention, embedded)",
    "shapes_se": "Shapes SE-ResNet-10 (embedded)",
    "shapes_cbam": "Shapes CBAM-ResNet-10 (embedded)",
    "motion_cbam3d": "Motion CBAM-R3D-10 (3-D convs, embedded)",
}
_DESCRIPTIONS = {
    "shapes_plain": "8 shapes in clutter, 96 px. Baseline without attention, for comparison.",
    "shapes_se": "8 shapes in clutter, 96 px. SE gates after every block (reduction 4).",
    "shapes_cbam": "8 shapes in clutter, 96 px. CBAM after every block: channel gate, then a 7x7 spatial gate.",
    "motion_cbam3d": "8 motion classes (left, right, up, down, turn cw/ccw, grow, shrink), 16 frames of 64 px; "
    "3x3x3 convolutions, CBAM with T×H×W spatial gates.",
}
_DOMAINS = {
    "shapes_plain": "8 generated shapes in clutter, 96 px",
    "shapes_se": "8 generated shapes in clutter, 96 px",
    "shapes_cbam": "8 generated shapes in clutter, 96 px",
    "motion_cbam3d": "8 generated motions of a shape, 16 frames of 64 px",
}
# The folder under ``assets/examples`` that holds generated examples of what each model learned.
EXAMPLE_DIRS = {"shapes_plain": "shapes", "shapes_se": "shapes", "shapes_cbam": "shapes", "motion_cbam3d": "motion"}
_ATTENTION = {"shapes_plain": "none", "shapes_se": "se", "shapes_cbam": "cbam", "motion_cbam3d": "cbam"}
_CITATIONS = {
    "se": "Hu et al., Squeeze-and-Excitation Networks, CVPR 2018, https://arxiv.org/abs/1709.01507",
    "cbam": "Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018, https://arxiv.org/abs/1807.06521",
    "none": "He et al., Deep Residual Learning for Image Recognition, CVPR 2016, https://arxiv.org/abs/1512.03385",
}
_HEADLINE_METRICS = ("accuracy", "pointing_game")


def card_path(name: str) -> str:
    """Where a model's card lives, relative to ``assets/``."""
    return f"models/{name}.card.json"


def read_card(name: str) -> dict[str, Any] | None:
    """The model's training card, or ``None`` before the model has been trained."""
    path = ASSETS_DIR / card_path(name)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def generated_examples(name: str) -> frozenset[str] | None:
    """SHA-1s of the shipped generated examples of what model ``name`` learned; None for a model not trained on
    generated data. The embedded models' out-of-distribution scores do not tell real photos from their generated
    data (docs/MODEL_CARDS.md), so an input's identity tells whether it is inside, not a score."""
    folder = EXAMPLE_DIRS.get(name)
    if folder is None:
        return None
    files = sorted((EXAMPLES_DIR / folder).glob("*"))
    return frozenset(hashlib.sha1(p.read_bytes(), usedforsecurity=False).hexdigest() for p in files if p.is_file())


def _weights(name: str, card: dict[str, Any] | None) -> WeightsSource:
    info = (card or {}).get("weights", {})
    sha = info.get("sha256")
    return WeightsSource(
        kind="embedded",
        location=f"models/{name}.safetensors",
        checksum=f"sha256:{sha}" if sha else None,
        size_mb=round(info.get("size_bytes", 0) / 1e6, 2),
    )


def _metrics(card: dict[str, Any] | None) -> dict[str, float]:
    found = (card or {}).get("metrics", {})
    return {k: float(found[k]) for k in _HEADLINE_METRICS if isinstance(found.get(k), int | float)}


def _register(name: str, task: Task, builder: Callable[[], nn.Module], preprocess: Preprocess) -> None:
    card = read_card(name)
    attention = _ATTENTION[name]
    register(
        ModelSpec(
            name=name,
            title=_TITLES[name],
            task=task,
            builder=builder,
            weights=_weights(name, card),
            preprocess=preprocess,
            labels=f"file:models/{name}.labels.txt",
            attention=attention,
            citation=_CITATIONS[attention],
            license="MIT (trained by this project on procedurally generated data)",
            description=_DESCRIPTIONS[name],
            metrics=_metrics(card),
            embedded=True,
            domain=_DOMAINS[name],
        )
    )


def _shapes_builder(cfg: ResNetConfig) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from visualiser.models.resnet import build_resnet  # torch loads when a model is first built

        return build_resnet(cfg)

    return build


def _motion_builder() -> nn.Module:
    from visualiser.models.video_resnet import build_video_resnet  # torch loads when a model is first built

    return build_video_resnet(MOTION_CONFIG)


for _name, _cfg in SHAPES_CONFIGS.items():
    _register(_name, "image", _shapes_builder(_cfg), SHAPES_PREPROCESS)
_register("motion_cbam3d", "clip", _motion_builder, MOTION_PREPROCESS)
