"""Known attention layouts, recognised by structure: child names, layer types and weight shapes.

Nothing here imports timm, torchvision, pytorchcv or ultralytics; each layout is described by what its
modules hold (the same names their checkpoints' keys carry), written from their public sources:

* timm ``SEModule`` (fc1 → [bn] → act → fc2 → gate), EfficientNet's ``SqueezeExcite`` (conv_reduce → act1 →
  conv_expand → gate), ``EffectiveSEModule`` (fc → gate), ``EcaModule``
  (Conv1d → gate), ``CbamModule`` / ``LightCbamModule`` (``channel``: fc1/fc2/gate, ``spatial``:
  ``conv`` = ConvNormAct over 2 maps, or 1 for the light version, → gate);
* torchvision ``SqueezeExcitation`` (avgpool, fc1, fc2, activation, scale_activation: Hardsigmoid in
  MobileNetV3, Sigmoid in EfficientNet and RegNetY);
* pytorchcv ``SEBlock`` (pool, conv1/conv2 or fc1/fc2, activ, sigmoid) and ``CbamBlock`` (``ch_gate``:
  avg_pool, max_pool, mlp, sigmoid; ``sp_gate``: conv block over 2 maps, sigmoid);
* the official CBAM (Jongchan/attention-module): ``ChannelGate`` (mlp = Flatten, Linear, ReLU, Linear)
  and ``SpatialGate`` (compress, spatial = BasicConv over 2 maps), sigmoid called functionally;
* ultralytics ``CBAM`` (``channel_attention``: pool, fc C→C, act; ``spatial_attention``: cv1 over 2 maps, act);
* CBAM.PyTorch-style ``ChannelAttention`` / ``SpatialAttention`` that *return* their gate (``ca(x) * x``);
* the 3-D versions of all of these (Conv3d, 3-D pools).

A layout names what was found; whether and how it is recorded is decided at run time (``gatefind``).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from visualiser.models.layers import AttentionModule

_CONV = (nn.Conv2d, nn.Conv3d)
_AVG = (nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_MAX = (nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


def _kids(m: nn.Module) -> dict[str, nn.Module]:
    return dict(m.named_children())


def _pointwise(m: nn.Module | None) -> bool:
    return isinstance(m, _CONV) and all(k == 1 for k in m.kernel_size)


def _width(m: nn.Module) -> tuple[int, int]:
    if isinstance(m, nn.Linear):
        return m.in_features, m.out_features
    return m.in_channels, m.out_channels  # type: ignore[return-value]


def _gate_function(m: nn.Module | None) -> str | None:
    """The gate function a parameter-free child applies (class name is only a hint for custom ones)."""
    if isinstance(m, nn.Hardsigmoid):
        return "Hardsigmoid"
    if isinstance(m, nn.Sigmoid):
        return "Sigmoid"
    if m is not None and not any(True for _ in m.parameters()) and "sigmoid" in type(m).__name__.lower():
        return type(m).__name__
    return None


def _inner_conv(m: nn.Module | None) -> nn.Module | None:
    """A conv, or a conv block holding one as ``conv`` (ConvNormAct, BasicConv, ConvBlock)."""
    if isinstance(m, _CONV):
        return m
    inner = getattr(m, "conv", None) if m is not None else None
    return inner if isinstance(inner, _CONV) else None


def _bottleneck(a: nn.Module | None, b: nn.Module | None) -> str | None:
    if a is None or b is None or type(a) is not type(b) or not isinstance(a, (nn.Linear, *_CONV)):
        return None
    if isinstance(a, _CONV) and not (_pointwise(a) and _pointwise(b)):
        return None
    (c, r), (r2, c2) = _width(a), _width(b)
    return f"{c}→{r}→{c}" if r == r2 and c == c2 else None


def _spatial_conv(m: nn.Module | None, maps: int = 2) -> str | None:
    conv = _inner_conv(m)
    if conv is None or conv.in_channels != maps or conv.out_channels != 1:
        return None
    return "×".join(str(k) for k in conv.kernel_size)


def timm_se(m: nn.Module) -> str | None:
    k = _kids(m)
    width, gate = _bottleneck(k.get("fc1"), k.get("fc2")), _gate_function(k.get("gate"))
    if width and gate and "bn" in k and isinstance(k["fc1"], _CONV):
        return f"timm SEModule: fc1/fc2 1×1 convs {width}, gate {gate}"
    return None


def timm_squeeze_excite(m: nn.Module) -> str | None:
    k = _kids(m)
    width, gate = _bottleneck(k.get("conv_reduce"), k.get("conv_expand")), _gate_function(k.get("gate"))
    if width and gate:
        return f"timm SqueezeExcite (EfficientNet / MobileNetV3 blocks): conv_reduce/conv_expand {width}, gate {gate}"
    return None


def timm_effective_se(m: nn.Module) -> str | None:
    k = _kids(m)
    fc, gate = k.get("fc"), _gate_function(k.get("gate"))
    if _pointwise(fc) and gate and fc.in_channels == fc.out_channels:  # type: ignore[union-attr]
        return f"timm EffectiveSEModule: one 1×1 conv {fc.in_channels}→{fc.out_channels}, gate {gate}"  # type: ignore[union-attr]
    return None


def eca(m: nn.Module) -> str | None:
    k = _kids(m)
    conv = k.get("conv")
    if not (isinstance(conv, nn.Conv1d) and conv.in_channels == 1 and conv.out_channels == 1):
        return None
    if _gate_function(k.get("gate")):
        return f"timm EcaModule: Conv1d(1, 1, {conv.kernel_size[0]}) across channels, gate {_gate_function(k['gate'])}"
    if _gate_function(k.get("sigmoid")) and isinstance(k.get("avg_pool"), _AVG):
        return f"ECA-Net eca_layer: avg_pool, Conv1d(1, 1, {conv.kernel_size[0]}) across channels, sigmoid"
    return None


def timm_channel_attn(m: nn.Module) -> str | None:
    k = _kids(m)
    width, gate = _bottleneck(k.get("fc1"), k.get("fc2")), _gate_function(k.get("gate"))
    if width and gate and "bn" not in k and isinstance(k["fc1"], _CONV):
        return f"timm ChannelAttn (CBAM channel half): shared fc1/fc2 {width}, gate {gate}"
    return None


def timm_spatial_attn(m: nn.Module) -> str | None:
    k = _kids(m)
    gate = _gate_function(k.get("gate"))
    if gate and _spatial_conv(k.get("conv")):
        return f"timm SpatialAttn (CBAM spatial half): ConvNormAct {_spatial_conv(k['conv'])} over (mean, max), gate"
    if gate and _spatial_conv(k.get("conv"), maps=1):
        return "timm LightSpatialAttn: ConvNormAct over one 0.5·mean + 0.5·max map, gate"
    return None


def timm_cbam(m: nn.Module) -> str | None:
    k = _kids(m)
    channel, spatial = k.get("channel"), k.get("spatial")
    if channel is None or spatial is None or not timm_channel_attn(channel):
        return None
    if _spatial_conv(_kids(spatial).get("conv")):
        return "timm CbamModule: channel (ChannelAttn) then spatial (SpatialAttn)"
    if _spatial_conv(_kids(spatial).get("conv"), maps=1):
        return "timm LightCbamModule: light channel then light spatial attention"
    return None


def torchvision_se(m: nn.Module) -> str | None:
    k = _kids(m)
    width, gate = _bottleneck(k.get("fc1"), k.get("fc2")), _gate_function(k.get("scale_activation"))
    if width and gate and isinstance(k.get("avgpool"), _AVG) and "activation" in k:
        users = "MobileNetV3" if gate == "Hardsigmoid" else "EfficientNet / RegNetY"
        return f"torchvision SqueezeExcitation ({users}): fc1/fc2 {width}, scale_activation {gate}"
    return None


def pytorchcv_se(m: nn.Module) -> str | None:
    k = _kids(m)
    width = _bottleneck(k.get("conv1"), k.get("conv2")) or _bottleneck(k.get("fc1"), k.get("fc2"))
    if width and _gate_function(k.get("sigmoid")) and isinstance(k.get("pool"), _AVG) and "activ" in k:
        return f"pytorchcv SEBlock: pool, {width}, sigmoid"
    return None


def pytorchcv_channel_gate(m: nn.Module) -> str | None:
    k = _kids(m)
    mlp = _kids(k["mlp"]) if "mlp" in k else {}
    width = _bottleneck(mlp.get("fc1"), mlp.get("fc2"))
    if width and isinstance(k.get("avg_pool"), _AVG) and isinstance(k.get("max_pool"), _MAX) and "sigmoid" in k:
        return f"pytorchcv ChannelGate (CBAM channel half): shared mlp {width} on avg and max pools, sigmoid"
    return None


def pytorchcv_spatial_gate(m: nn.Module) -> str | None:
    k = _kids(m)
    if _spatial_conv(k.get("conv")) and _gate_function(k.get("sigmoid")) and len(k) == 2:
        return f"pytorchcv SpatialGate (CBAM spatial half): conv block {_spatial_conv(k['conv'])} over (max, mean)"
    return None


def pytorchcv_cbam(m: nn.Module) -> str | None:
    k = _kids(m)
    if "ch_gate" in k and "sp_gate" in k and pytorchcv_channel_gate(k["ch_gate"]):
        return "pytorchcv CbamBlock: ch_gate then sp_gate"
    return None


def official_channel_gate(m: nn.Module) -> str | None:
    mlp = _kids(m).get("mlp")
    layers = list(mlp.children()) if isinstance(mlp, nn.Sequential) else []
    flatten = len(layers) == 4 and not any(True for _ in layers[0].parameters())  # its own Flatten class
    if flatten and _bottleneck(layers[1], layers[3]):
        return f"official CBAM ChannelGate: mlp {_bottleneck(layers[1], layers[3])} on pooled maps, F.sigmoid in code"
    return None


def official_spatial_gate(m: nn.Module) -> str | None:
    k = _kids(m)
    if "compress" in k and _spatial_conv(k.get("spatial")):
        return f"official CBAM SpatialGate: compress (max, mean), BasicConv {_spatial_conv(k['spatial'])}, F.sigmoid"
    return None


def official_cbam(m: nn.Module) -> str | None:
    k = _kids(m)
    if "ChannelGate" in k and official_channel_gate(k["ChannelGate"]):
        return "official CBAM (Jongchan/attention-module): ChannelGate then SpatialGate"
    return None


def ultralytics_channel(m: nn.Module) -> str | None:
    k = _kids(m)
    fc = k.get("fc")
    if isinstance(k.get("pool"), _AVG) and _pointwise(fc) and _gate_function(k.get("act")):
        return f"ultralytics ChannelAttention: pool, 1×1 conv {fc.in_channels}→{fc.out_channels}, act"  # type: ignore[union-attr]
    return None


def ultralytics_spatial(m: nn.Module) -> str | None:
    k = _kids(m)
    if _spatial_conv(k.get("cv1")) and _gate_function(k.get("act")):
        return f"ultralytics SpatialAttention: cv1 {_spatial_conv(k['cv1'])} over (mean, max), act"
    return None


def ultralytics_cbam(m: nn.Module) -> str | None:
    k = _kids(m)
    channel, spatial = k.get("channel_attention"), k.get("spatial_attention")
    if channel is not None and spatial is not None and ultralytics_channel(channel) and ultralytics_spatial(spatial):
        return "ultralytics CBAM: channel_attention then spatial_attention"
    return None


def returned_channel_gate(m: nn.Module) -> str | None:
    k = _kids(m)
    shared = _bottleneck(k.get("fc1"), k.get("fc2"))
    fc = list(k["fc"].children()) if isinstance(k.get("fc"), nn.Sequential) else []
    shared = shared or (_bottleneck(fc[0], fc[-1]) if len(fc) == 3 else None)
    pools = isinstance(k.get("avg_pool"), _AVG) and isinstance(k.get("max_pool"), _MAX)
    if shared and pools and _gate_function(k.get("sigmoid")):
        return f"CBAM.PyTorch-style ChannelAttention: shared mlp {shared} on avg and max pools, returns the gate"
    return None


def returned_spatial_gate(m: nn.Module) -> str | None:
    k = _kids(m)
    if _spatial_conv(k.get("conv1")) and _gate_function(k.get("sigmoid")) and len(k) == 2:
        size = _spatial_conv(k["conv1"])
        return f"CBAM.PyTorch-style SpatialAttention: conv1 {size} over (mean, max), returns the gate"
    return None


LAYOUTS: tuple[Callable[[nn.Module], str | None], ...] = (
    timm_cbam, pytorchcv_cbam, official_cbam, ultralytics_cbam, timm_se, timm_squeeze_excite, timm_effective_se, eca,
    timm_channel_attn, timm_spatial_attn, torchvision_se, pytorchcv_se, pytorchcv_channel_gate,
    pytorchcv_spatial_gate, official_channel_gate, official_spatial_gate, ultralytics_channel,
    ultralytics_spatial, returned_channel_gate, returned_spatial_gate,
)  # fmt: skip


def known_layout(module: nn.Module) -> str | None:
    """The known layout ``module`` has, in words ("timm SEModule: ..."), or None."""
    if isinstance(module, AttentionModule):
        return f"visualiser {type(module).__name__} (this project's own module, recorded through its taps)"
    for layout in LAYOUTS:
        text = layout(module)
        if text:
            return text
    return None


def known_layouts(model: nn.Module) -> dict[str, str]:
    """Module path → layout for every module of ``model`` with a known layout (no forward pass)."""
    return {name: text for name, module in model.named_modules() if (text := known_layout(module)) is not None}
