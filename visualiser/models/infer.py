"""Infer one of our ResNet configs from a checkpoint's keys and shapes, in any layout ``layouts`` knows.

The checkpoint's keys are first renamed into this project's layout (``weights.rename_keys``); then the shapes
say: block type (a ``conv3`` means bottleneck), blocks per stage, stage widths, the stem (7x7, one 3x3, or
the three-conv deep stem) and its width, avg-pool shortcuts (the projection conv at ``downsample.1``), the
attention kind and options (SE / CBAM hidden widths → reduction and width rule, biases, CBAM MLP form,
spatial kernel; ECA kernel sizes), classes and input channels. The layout's convention adds what keys cannot
tell (``Layout.conventions``). Only shapes are read, so meta tensors work as well as loaded ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from visualiser.errors import WeightsError
from visualiser.models.configs import ResNetConfig, VideoResNetConfig
from visualiser.models.layouts import Layout
from visualiser.models.registry import Preprocess
from visualiser.models.weights.remap import rename_keys

Config = ResNetConfig | VideoResNetConfig
_BLOCK = re.compile(r"^layer(\d+)\.(\d+)\.")
FAMILY_PREFIX = {"none": "", "se": "SE-", "cbam": "CBAM-", "eca": "ECA-"}
_PREFERRED_REDUCTIONS = (16, 8, 4, 32, 2, 64, 1)


class Misfit(Exception):
    """A key or shape that no config of ours produces; the message names it."""


@dataclass(frozen=True)
class Inference:
    """An architecture read from a checkpoint: the config, the layout, what was read and what was assumed."""

    layout: Layout
    config: Config
    family: str  # e.g. "SE-ResNet-50"
    read: tuple[str, ...]  # facts the keys and shapes gave
    assumed: tuple[str, ...]  # the layout's conventions, for what keys cannot tell
    arch: str | None = None  # the registered architecture named explicitly, if any
    preprocess: Preprocess | None = None  # None: the layout's

    @property
    def effective_preprocess(self) -> Preprocess:
        return self.preprocess or self.layout.preprocess




def need_shape(shapes: Mapping[str, tuple[int, ...]], key: str, ndim: int) -> tuple[int, ...]:
    shape = shapes.get(key)
    if shape is None:
        raise Misfit(f"{key} is missing")
    if len(shape) != ndim:
        raise Misfit(f"{key} has shape {shape}; ours is {ndim}-D")
    return shape


def stage_depths(shapes: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    blocks: dict[int, set[int]] = {}
    for key in shapes:
        found = _BLOCK.match(key)
        if found:
            blocks.setdefault(int(found.group(1)), set()).add(int(found.group(2)))
    if not blocks:
        raise Misfit("there are no layerN.i.* blocks")
    stages = sorted(blocks)
    if stages != list(range(1, len(stages) + 1)):
        raise Misfit(f"the stages are layer{', layer'.join(map(str, stages))}; ours are numbered layer1, layer2, ...")
    for stage in stages:
        if sorted(blocks[stage]) != list(range(len(blocks[stage]))):
            raise Misfit(f"layer{stage} has blocks {sorted(blocks[stage])}; ours are numbered 0, 1, ...")
    return tuple(len(blocks[s]) for s in stages)


def block_names(depths: Sequence[int]) -> list[tuple[int, str]]:
    return [(stage, f"layer{stage}.{i}") for stage, depth in enumerate(depths, start=1) for i in range(depth)]


def _stem(shapes: Mapping[str, tuple[int, ...]]) -> tuple[str, int, int, str]:
    if "conv1.weight" in shapes:
        w = need_shape(shapes, "conv1.weight", 4)
        if w[2:] == (7, 7):
            return "standard", w[0], w[1], f"7x7 stem conv, {w[0]} channels"
        if w[2:] == (3, 3):
            return "small", w[0], w[1], f"single 3x3 stem conv, {w[0]} channels"
        raise Misfit(f"conv1.weight {w}: a {w[2]}x{w[3]} stem is none of ours (7x7, one 3x3, or three 3x3)")
    first, mid, last = (need_shape(shapes, f"conv1.{i}.weight", 4) for i in (0, 3, 6))
    width = last[0]
    if first[0] != width // 2 or mid[:2] != (width // 2, width // 2) or last[1] != width // 2:
        raise Misfit(
            f"deep stem widths {first[0]}, {mid[0]}, {width}: ours are w/2, w/2, w (timm 'deep'); "
            "timm's tiered stem (24, 32, 64) is not built here"
        )
    return "deep", width, first[1], f"deep stem of three 3x3 convs ({width // 2}, {width // 2}, {width})"


def _reduction(
    pairs: Sequence[tuple[int, int]], rules: Sequence[str], what: str, blocks: Sequence[str]
) -> tuple[int, str]:
    """A reduction ratio (and width rule) that gives every block's (channels, hidden) pair."""
    from visualiser.models.layers import reduced_width  # torch: inference itself stays torch-free

    c0, h0 = pairs[0]
    widest = max(c for c, _ in pairs)  # any larger ratio gives the same (minimum) widths
    first_conflict = len(pairs)
    for rule in rules:
        feasible = [r for r in range(1, widest + 1) if reduced_width(c0, r, rule) == h0]  # type: ignore[arg-type]
        for index, (c, h) in enumerate(pairs[1:], start=1):
            feasible = [r for r in feasible if reduced_width(c, r, rule) == h]  # type: ignore[arg-type]
            if not feasible:
                first_conflict = min(first_conflict, index)
                break
        if feasible:
            preferred = [r for r in _PREFERRED_REDUCTIONS if r in feasible]
            return (preferred[0] if preferred else feasible[0]), rule
    c, h = pairs[min(first_conflict, len(pairs) - 1)]
    raise Misfit(
        f"the {what} hidden widths follow no single reduction ratio (C // r, or timm's rounding): "
        f"{blocks[0]} maps {c0} → {h0} channels but {blocks[min(first_conflict, len(pairs) - 1)]} maps {c} → {h}"
    )


def read_attention(
    shapes: Mapping[str, tuple[int, ...]], blocks: Sequence[str], layout: Layout, dims: int
) -> tuple[str, tuple[tuple[str, object], ...], str]:
    first = f"{blocks[0]}.se."
    suffixes = {k.removeprefix(first) for k in shapes if k.startswith(first)}
    if not suffixes:
        others = [b for b in blocks if any(k.startswith(f"{b}.se.") for k in shapes)]
        if others:
            raise Misfit(f"{others[0]} has attention but {blocks[0]} has none; ours put it in every block or none")
        return "none", (), "no attention modules"
    kind = "se" if "fc1.weight" in suffixes else "eca" if "conv.weight" in suffixes else None
    kind = "cbam" if "channel.fc1.weight" in suffixes else kind
    if kind is None:
        raise Misfit(
            f"{blocks[0]}.se holds {', '.join(sorted(suffixes)[:6])}; ours are SE (fc1, fc2), ECA (conv) "
            "or CBAM (channel.fc1/fc2, spatial.conv)"
        )
    probe = {"se": "fc1.weight", "eca": "conv.weight", "cbam": "channel.fc1.weight"}[kind]
    for block in blocks:
        if f"{block}.se.{probe}" not in shapes:
            raise Misfit(f"{block} lacks the attention module {blocks[0]} has ({block}.se.{probe})")
    if kind == "eca":
        return _eca(shapes, blocks)
    prefix = "se." if kind == "se" else "se.channel."
    ndim = len(shapes[f"{blocks[0]}.{prefix}fc1.weight"])
    fc1 = [need_shape(shapes, f"{b}.{prefix}fc1.weight", ndim) for b in blocks]
    bias = f"{blocks[0]}.{prefix}fc1.bias" in shapes
    pairs = [(shape[1], shape[0]) for shape in fc1]
    if kind == "se":
        if len(fc1[0]) != dims + 2:
            raise Misfit(f"{blocks[0]}.se.fc1.weight has shape {fc1[0]}; ours is a {dims + 2}-D 1x1 conv")
        reduction, rule = _reduction(pairs, layout.se_width_rules, "SE", blocks)
        options = (("reduction", reduction), ("width_rule", rule), ("bias", bias))
        rule_text = "timm's make_divisible(C/r, 8)" if rule == "divisible8" else "C // r"
        return (
            "se",
            options,
            f"SE in every block: reduction {reduction} ({rule_text}), {'with' if bias else 'no'} biases",
        )
    form = "linear" if len(fc1[0]) == 2 else "conv"
    if form == "conv" and len(fc1[0]) != dims + 2:
        raise Misfit(f"{blocks[0]}.se.channel.fc1.weight has shape {fc1[0]}; ours is Linear or a 1x1 conv")
    reduction, _ = _reduction(pairs, ("floor",), "CBAM channel-gate", blocks)
    spatial = need_shape(shapes, f"{blocks[0]}.se.spatial.conv.conv.weight", dims + 2)
    kernel = spatial[-1]
    if spatial[:2] != (1, 2) or kernel not in (3, 5, 7) or len(set(spatial[2:])) != 1:
        raise Misfit(f"{blocks[0]}.se.spatial.conv.conv.weight {spatial}: ours maps 2 channels to 1, kernel 3, 5 or 7")
    options = (
        ("reduction", reduction),
        ("mlp_form", form),
        ("bias", bias),
        ("spatial_kernel", kernel),
        ("order", layout.cbam_order),
    )
    text = f"CBAM in every block: reduction {reduction}, {form} MLP {'with' if bias else 'without'} biases, "
    return "cbam", options, text + f"{kernel}x{kernel} spatial conv"


def _eca(
    shapes: Mapping[str, tuple[int, ...]], blocks: Sequence[str]
) -> tuple[str, tuple[tuple[str, object], ...], str]:
    from visualiser.models.layers import eca_kernel_size  # torch: inference itself stays torch-free

    kernels, adaptive = [], True
    for block in blocks:
        shape = need_shape(shapes, f"{block}.se.conv.weight", 3)
        if shape[:2] != (1, 1):
            raise Misfit(f"{block}.se.conv.weight {shape}: ours is a Conv1d(1, 1, k)")
        channels = _channels(shapes, block)
        kernels.append(shape[2])
        adaptive = adaptive and shape[2] == eca_kernel_size(channels)
    if adaptive:
        return "eca", (), "ECA in every block, kernel sizes from the channel count (ECA-Net's rule)"
    if len(set(kernels)) == 1:
        return "eca", (("kernel_size", kernels[0]),), f"ECA in every block, kernel size {kernels[0]}"
    raise Misfit(f"ECA kernel sizes {kernels[:8]} follow neither ECA-Net's channel rule nor one fixed size")


def _channels(shapes: Mapping[str, tuple[int, ...]], block: str) -> int:
    for key in (f"{block}.bn3.weight", f"{block}.bn2.weight", f"{block}.conv2.1.weight"):
        if key in shapes:
            return shapes[key][0]
    raise Misfit(f"{block} has no bn2 / bn3 to read its width from")


def infer_resnet(shapes: Mapping[str, tuple[int, ...]], layout: Layout) -> Inference:
    stem, stem_width, in_chans, stem_text = _stem(shapes)
    depths = stage_depths(shapes)
    bottleneck = "layer1.0.conv3.weight" in shapes
    widths = []
    for stage in range(1, len(depths) + 1):
        conv1 = need_shape(shapes, f"layer{stage}.0.conv1.weight", 4)
        conv2 = need_shape(shapes, f"layer{stage}.0.conv2.weight", 4)
        planes = conv1[0]
        if bottleneck:
            conv3 = need_shape(shapes, f"layer{stage}.0.conv3.weight", 4)
            if conv3[0] != 4 * planes:
                raise Misfit(
                    f"layer{stage}.0.conv3.weight {conv3}: ours expand a bottleneck 4x ({planes} → {4 * planes}); "
                    "wide ResNets are not built here"
                )
        elif f"layer{stage}.0.conv3.weight" in shapes:
            raise Misfit(f"layer{stage} has bottleneck blocks but layer1 has basic ones")
        if conv2[1] != planes:
            raise Misfit(f"layer{stage}.0.conv2.weight {conv2}: grouped convs (ResNeXt) are not built here")
        widths.append(planes)
    avg_down = any(k.endswith(".downsample.2.weight") for k in shapes)
    expansion = 4 if bottleneck else 1
    fc = need_shape(shapes, "fc.weight", 2)
    if fc[1] != widths[-1] * expansion:
        raise Misfit(f"the classifier takes {fc[1]} features but the last stage gives {widths[-1] * expansion}")
    blocks = [name for _, name in block_names(depths)]
    attn, options, attn_text = read_attention(shapes, blocks, layout, dims=2)
    stride_in_1x1 = layout.stride_in_1x1 if bottleneck else None
    config = ResNetConfig(
        block="bottleneck" if bottleneck else "basic",
        layers=depths,
        widths=tuple(widths),
        stem=stem,  # type: ignore[arg-type]
        stem_width=stem_width,
        style=layout.style,
        stride_in_1x1=stride_in_1x1,
        avg_down=avg_down,
        attn=attn,  # type: ignore[arg-type]
        attn_options=options,
        num_classes=fc[0],
        in_chans=in_chans,
    )
    depth = sum(depths) * (3 if bottleneck else 2) + 2
    family = f"{FAMILY_PREFIX[attn]}ResNet-{depth}{'-D' if stem == 'deep' and avg_down else ''}"
    read = (
        f"{'bottleneck' if bottleneck else 'basic'} blocks {'-'.join(map(str, depths))}",
        f"stage widths {'-'.join(map(str, widths))}" + (" (x4 out)" if bottleneck else ""),
        stem_text,
        "avg-pool then 1x1 conv shortcuts (ResNet-D)" if avg_down else "1x1 conv projection shortcuts",
        attn_text,
        f"{fc[0]} classes, {in_chans} input channels",
    )
    return Inference(layout, config, family, read, assumed_notes(layout, config))


def assumed_notes(layout: Layout, config: Config) -> tuple[str, ...]:
    notes = list(layout.conventions)
    if isinstance(config, ResNetConfig):
        if config.block == "basic":
            notes = [n for n in notes if "bottleneck" not in n]
        else:
            notes = [n for n in notes if "basic blocks" not in n]
    if config.attn != "cbam":
        notes = [n for n in notes if "CBAM" not in n]
    return (*notes, f"preprocessing: {layout.preprocess_note}")


def classifier_size(shapes: Mapping[str, Sequence[int]], key_map: str) -> int:
    """Number of classes: rows of the classifier (``fc.weight`` after renaming)."""
    theirs = rename_keys(shapes, key_map).get("fc.weight")
    shape = tuple(shapes[theirs]) if theirs is not None else ()
    if len(shape) != 2:
        raise WeightsError(f"the checkpoint has no classifier fc.weight after the {key_map!r} key map")
    return shape[0]


def with_classes(config: Config, num_classes: int) -> Config:
    """The same architecture with another classifier size."""
    return replace(config, num_classes=num_classes)


def canonical_config(config: Config) -> Config:
    """``config`` with its attention options spelled out in full (defaults filled, fixed order)."""
    given = dict(config.attn_options)
    order: tuple[tuple[str, object], ...] = ()
    if config.attn == "se":
        order = (("reduction", 16), ("width_rule", "floor"), ("bias", True))
    elif config.attn == "cbam":
        order = (
            ("reduction", 16),
            ("mlp_form", "linear"),
            ("bias", True),
            ("spatial_kernel", 7),
            ("order", "max_mean"),
        )
    elif config.attn == "eca":
        order = (("kernel_size", None),)
    options = tuple((k, given.get(k, default)) for k, default in order)
    options = tuple((k, v) for k, v in options if not (k == "kernel_size" and v is None))
    if isinstance(config, ResNetConfig) and config.block == "basic":
        config = replace(config, stride_in_1x1=None)  # no 1x1 conv to carry a stride
    if isinstance(config, ResNetConfig) and config.stride_in_1x1 is not None:
        default = config.style == "caffe"
        config = replace(config, stride_in_1x1=None if config.stride_in_1x1 == default else config.stride_in_1x1)
    return replace(config, attn_options=options, drop_rate=0.0)
