"""Video ResNets from torchvision-layout keys: R3D or R(2+1)D, stem, stages, widths, attention, strides.

Called by ``architecture.infer_architecture`` for the torchvision video layout, with the keys renamed and only
their shapes: see ``infer`` for the 2-D families and the shared attention reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from visualiser.models.configs import VideoResNetConfig
from visualiser.models.infer import (
    FAMILY_PREFIX,
    Inference,
    assumed_notes,
    block_names,
    need_shape,
    read_attention,
    stage_depths,
)
from visualiser.models.layouts import Layout


def infer_video(shapes: Mapping[str, tuple[int, ...]], layout: Layout) -> Inference:
    """The video ResNet config that torchvision-layout keys (already renamed) describe."""
    stem0 = need_shape(shapes, "stem.0.weight", 5)
    factorised = "layer1.0.conv1.0.0.weight" in shapes
    if "stem.3.weight" in shapes:
        stem3 = need_shape(shapes, "stem.3.weight", 5)
        stem_kernel, stem_width, stem_mid = (stem3[2], stem0[3], stem0[4]), stem3[0], stem0[0]
    else:
        stem_kernel, stem_width, stem_mid = stem0[2:], stem0[0], 45
    depths = stage_depths(shapes)
    widths = tuple(need_shape(shapes, f"layer{s}.0.conv1.1.weight", 1)[0] for s in range(1, len(depths) + 1))
    blocks = [name for _, name in block_names(depths)]
    attn, options, attn_text = read_attention(shapes, blocks, layout, dims=3)
    fc = need_shape(shapes, "fc.weight", 2)
    strides = _video_strides(shapes, stem_width, widths)
    config = VideoResNetConfig(
        conv="2plus1d" if factorised else "3d",
        layers=depths,
        widths=widths,
        stage_strides=None if strides == VideoResNetConfig(layers=depths).strides() else strides,
        stem_width=stem_width,
        stem_kernel=stem_kernel,  # type: ignore[arg-type]
        stem_mid=stem_mid,
        attn=attn,  # type: ignore[arg-type]
        attn_options=options,
        num_classes=fc[0],
        in_chans=stem0[1],
    )
    family = f"{FAMILY_PREFIX[attn]}{'R(2+1)D' if factorised else 'R3D'}-{sum(depths) * 2 + 2}"
    read = (
        f"{'(2+1)D' if factorised else '3x3x3'} basic blocks {'-'.join(map(str, depths))}",
        f"stage widths {'-'.join(map(str, widths))}",
        f"stem kernel {'x'.join(map(str, stem_kernel))}, {stem_width} channels",
        attn_text,
        f"{fc[0]} classes, {stem0[1]} input channels",
    )
    return Inference(layout, config, family, read, assumed_notes(layout, config))


def _video_strides(
    shapes: Mapping[str, tuple[int, ...]], stem_width: int, widths: Sequence[int]
) -> tuple[tuple[int, int, int], ...]:
    """torchvision's stage strides, except where a shortcut conv says otherwise.

    A first block has a shortcut conv exactly when it strides or changes width: one where the width stays
    means a stride (taken as (1, 2, 2), spatial only); none in a later stage means stride 1.
    """
    strides = []
    inplanes = stem_width
    for stage, planes in enumerate(widths, start=1):
        projected = f"layer{stage}.0.downsample.0.weight" in shapes
        if stage == 1:
            strides.append((1, 2, 2) if projected and inplanes == planes else (1, 1, 1))
        else:
            strides.append((2, 2, 2) if projected else (1, 1, 1))
        inplanes = planes
    return tuple(strides)
