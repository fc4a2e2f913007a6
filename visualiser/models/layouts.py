"""Checkpoint layouts: which code saved a state_dict, told from its key names, and what that code's convention adds.

Keys and shapes say most of an architecture; the rest changes the function while keeping every key and
shape: the stride on a bottleneck's 1x1 or 3x3, the stem max-pool's padding / ceil mode, a ReLU before SE
in Caffe basic blocks, and the spatial gate's (max, mean) input order. Those come from the layout's
convention, as each codebase's published model code defines it; the zoo's builders (``visualiser/models/zoo.py``)
follow the same conventions and are parity-tested against those codebases' outputs (``tests/test_parity.py``).
Every inference states them (``Layout.conventions``). Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from visualiser.models.configs import Style
from visualiser.models.registry import Preprocess
from visualiser.models.zoo import IMAGENET_BILINEAR, KINETICS_VIDEO
from visualiser.types import Task

if TYPE_CHECKING:  # layers imports torch; these are only names of literal types
    from visualiser.models.layers import SpatialOrder, WidthRule

TIMM_PREPROCESS = Preprocess(input_size=224, crop_pct=0.875, interpolation="bicubic")


@dataclass(frozen=True)
class Layout:
    """One checkpoint layout and the conventions its code follows where keys are silent."""

    name: str
    title: str
    key_map: str
    task: Task = "image"
    style: Style = "timm"
    stride_in_1x1: bool | None = None  # bottlenecks only; None: the style's placement
    se_width_rules: tuple[WidthRule, ...] = ("floor", "divisible8")  # the first rule that fits every block wins
    cbam_order: SpatialOrder = "max_mean"
    preprocess: Preprocess = IMAGENET_BILINEAR
    preprocess_note: str = "bilinear resize to 256, centre crop 224, ImageNet mean/std"
    conventions: tuple[str, ...] = ()


_TIMM_POOL = "stem max-pool 3x3, stride 2, padding 1"
_ADAPTIVE = "global average pooling (any input size), BatchNorm eps 1e-5, ReLU activations"

TIMM = Layout(
    name="timm",
    title="timm layout",
    key_map="timm",
    se_width_rules=("divisible8", "floor"),
    cbam_order="mean_max",
    preprocess=TIMM_PREPROCESS,
    preprocess_note="bicubic resize to 256, centre crop 224 (timm's default crop 0.875), ImageNet mean/std",
    conventions=(
        "stride on each bottleneck's 3x3 conv (timm / torchvision ResNet v1.5)",
        _TIMM_POOL,
        "CBAM spatial gate input order (mean, max), as timm's CbamModule",
        _ADAPTIVE,
    ),
)
# timm's plain ResNets and torchvision's share every key and the function; a plain net more likely
# comes from torchvision, so it gets torchvision's preprocessing.
TORCHVISION = Layout(
    name="torchvision",
    title="torchvision / timm layout",
    key_map="timm",
    conventions=(
        "stride on each bottleneck's 3x3 conv (torchvision ResNet v1.5, as timm)",
        _TIMM_POOL,
        _ADAPTIVE,
    ),
)
VISUALISER = Layout(
    name="visualiser",
    title="attention-visualiser layout",
    key_map="identity",
    conventions=(
        "stride on each bottleneck's 3x3 conv",
        "a single 3x3 stem conv has stride 2 and no max-pool (this project's small stem); " + _TIMM_POOL + " otherwise",
        "CBAM spatial gate input order (max, mean), this project's default",
        _ADAPTIVE,
    ),
)
LEGACY_SENET = Layout(
    name="legacy_senet",
    title="SENet authors' layout",
    key_map="legacy_senet",
    style="caffe",
    conventions=(
        "stride on each bottleneck's first 1x1 conv (Caffe style, SEResNetBottleneck)",
        "stem max-pool 3x3, stride 2, no padding, ceil mode",
        "basic blocks apply a ReLU after bn2, before SE (SEResNetBlock)",
        _ADAPTIVE,
    ),
)
PYTORCHCV_SE = Layout(
    name="pytorchcv",
    title="pytorchcv layout",
    key_map="pytorchcv_seresnet",
    stride_in_1x1=True,
    conventions=(
        "stride on each bottleneck's first 1x1 conv (pytorchcv seresnet*/resnet*, not the *b variants)",
        _TIMM_POOL,
        _ADAPTIVE,
    ),
)
PYTORCHCV_CBAM = Layout(
    name="pytorchcv",
    title="pytorchcv layout",
    key_map="pytorchcv_cbam",
    conventions=(
        "stride on each bottleneck's 3x3 conv (pytorchcv cbam_resnet*)",
        _TIMM_POOL,
        "CBAM spatial gate input order (max, mean), as pytorchcv's CbamBlock",
        _ADAPTIVE,
    ),
)
OFFICIAL_CBAM = Layout(
    name="official_cbam",
    title="official CBAM layout",
    key_map="official_cbam",
    conventions=(
        "stride on each bottleneck's 3x3 conv (torchvision backbone of Jongchan/attention-module)",
        _TIMM_POOL,
        "CBAM channel gate pools avg and max (the code's default pool_types)",
        "CBAM spatial gate input order (max, mean), as the official ChannelPool",
        _ADAPTIVE,
    ),
)
TORCHVISION_VIDEO = Layout(
    name="torchvision_video",
    title="torchvision video layout",
    key_map="torchvision_video",
    task="clip",
    preprocess=KINETICS_VIDEO,
    preprocess_note="torchvision's Kinetics recipe: 16 frames, resize 128x171 (no antialias), centre crop 112",
    conventions=(
        "stem stride (1, 2, 2) and stage strides 1, 2, 2, 2 in T, H and W (torchvision r3d_18 / r2plus1d_18); "
        "a first block whose shortcut conv keeps the width strides (1, 2, 2), one without a shortcut conv 1",
        "(2+1)D mid widths from torchvision's rule, computed once per block",
        "CBAM spatial gate input order (max, mean), this project's default",
        "global average pooling over (T, H, W), BatchNorm eps 1e-5, ReLU activations",
    ),
)

LAYOUTS: tuple[Layout, ...] = (
    TIMM,
    TORCHVISION,
    VISUALISER,
    LEGACY_SENET,
    PYTORCHCV_SE,
    PYTORCHCV_CBAM,
    OFFICIAL_CBAM,
    TORCHVISION_VIDEO,
)
BY_KEY_MAP: dict[str, Layout] = {
    "timm": TIMM,
    "identity": VISUALISER,
    "legacy_senet": LEGACY_SENET,
    "pytorchcv_seresnet": PYTORCHCV_SE,
    "pytorchcv_cbam": PYTORCHCV_CBAM,
    "official_cbam": OFFICIAL_CBAM,
    "torchvision_video": TORCHVISION_VIDEO,
}
# The keys that identify a layout, as the "fits no family" message lists them.
SIGNATURES = (
    "conv1.weight or conv1.0.weight + layer1.0.* (timm / torchvision / this project)",
    "layer0.conv1.weight (SENet authors)",
    "features.init_block.conv.conv.weight (pytorchcv)",
    "layerN.i.cbam.ChannelGate.* (official CBAM)",
    "stem.0.weight, 5-D (torchvision video)",
)


def detect_layout(shapes: Mapping[str, Sequence[int]]) -> Layout | None:
    """The layout a checkpoint's keys (as saved, wrappers removed) were written in, or None."""
    keys = shapes.keys()
    if any(k.startswith("features.init_block.") for k in keys):
        return PYTORCHCV_CBAM if any(".cbam." in k for k in keys) else PYTORCHCV_SE
    if "layer0.conv1.weight" in shapes:
        return LEGACY_SENET
    if len(shapes.get("stem.0.weight", ())) == 5:
        return TORCHVISION_VIDEO
    if not any(k.startswith("layer1.0.") for k in keys):
        return None
    if any(".cbam.ChannelGate." in k for k in keys):
        return OFFICIAL_CBAM
    if "conv1.weight" in shapes or "conv1.0.weight" in shapes:
        small_stem = len(shapes.get("conv1.weight", ())) == 4 and tuple(shapes["conv1.weight"])[2:] == (3, 3)
        linear_cbam = len(shapes.get("layer1.0.se.channel.fc1.weight", ())) == 2
        if small_stem or linear_cbam:
            return VISUALISER
        return TIMM if any(".se." in k for k in keys) else TORCHVISION
    return None
