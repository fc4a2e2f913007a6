"""Structural replicas of other libraries' attention modules, written here (our own code), for the watch tests.

Each class follows one library's module layout (child names, layer types) and forward (pooling, the
order of the (mean, max) maps, where the sigmoid is called, how the gate is reshaped), from their public
sources; none of those libraries is imported or installed. Names say whose layout they follow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# --- timm (timm/layers: squeeze_excite.py, eca.py, cbam.py, conv_bn_act.py) -------------------------------


class TimmSEModule(nn.Module):
    def __init__(self, channels: int, rd: int, gate: type[nn.Module] = nn.Sigmoid, add_maxpool: bool = False):
        super().__init__()
        self.add_maxpool = add_maxpool
        self.fc1 = nn.Conv2d(channels, rd, 1, bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd, channels, 1, bias=True)
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_se = x.mean((2, 3), keepdim=True)
        if self.add_maxpool:
            x_se = 0.5 * x_se + 0.5 * x.amax((2, 3), keepdim=True)
        x_se = self.fc2(self.act(self.bn(self.fc1(x_se))))
        return x * self.gate(x_se)


class TimmSqueezeExcite(nn.Module):  # timm/models/_efficientnet_blocks.py
    def __init__(self, channels: int, rd: int):
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, rd, 1, bias=True)
        self.act1 = nn.ReLU(inplace=True)
        self.conv_expand = nn.Conv2d(rd, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_se = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * self.gate(x_se)


class TimmEffectiveSEModule(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1, padding=0)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.fc(x.mean((2, 3), keepdim=True)))


class TimmEcaModule(nn.Module):
    def __init__(self, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.gate(self.conv(y)).view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


class TimmConvNormAct(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class TimmChannelAttn(nn.Module):
    def __init__(self, channels: int, rd: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd, 1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd, channels, 1, bias=False)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_avg = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        x_max = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        return x * self.gate(x_avg + x_max)


class TimmLightChannelAttn(TimmChannelAttn):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_pool = 0.5 * x.mean((2, 3), keepdim=True) + 0.5 * x.amax((2, 3), keepdim=True)
        return x * F.sigmoid(self.fc2(self.act(self.fc1(x_pool))))


class TimmSpatialAttn(nn.Module):
    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = TimmConvNormAct(2, 1, kernel)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_attn = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * self.gate(self.conv(x_attn))


class TimmLightSpatialAttn(nn.Module):
    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = TimmConvNormAct(1, 1, kernel)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_attn = 0.5 * x.mean(dim=1, keepdim=True) + 0.5 * x.amax(dim=1, keepdim=True)
        return x * self.gate(self.conv(x_attn))


class TimmCbamModule(nn.Module):
    def __init__(self, channels: int, rd: int, light: bool = False):
        super().__init__()
        self.channel = (TimmLightChannelAttn if light else TimmChannelAttn)(channels, rd)
        self.spatial = TimmLightSpatialAttn() if light else TimmSpatialAttn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


# --- torchvision (torchvision/ops/misc.py SqueezeExcitation) ----------------------------------------------


class TorchvisionSqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int, scale_activation: type[nn.Module] = nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = scale_activation()

    def _scale(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._scale(x) * x


# --- pytorchcv (pytorchcv/models/common.py SEBlock, cbamresnet.py) ----------------------------------------


class PytorchcvHSigmoid(nn.Module):
    """pytorchcv's hard sigmoid (MobileNetV3's SE blocks): written out, with an in-place ReLU6."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(x + 3.0, inplace=True) / 6.0


class PytorchcvSEBlock(nn.Module):
    def __init__(self, channels: int, reduction: int = 4, out_activation: type[nn.Module] = nn.Sigmoid):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = nn.Conv2d(channels, channels // reduction, 1, bias=True)
        self.activ = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels // reduction, channels, 1, bias=True)
        self.sigmoid = out_activation()  # pytorchcv names the gate "sigmoid" whatever its function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.sigmoid(self.conv2(self.activ(self.conv1(self.pool(x)))))
        return x * w


class PytorchcvMLP(nn.Module):
    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.activ = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activ(self.fc1(x.view(x.size(0), -1))))


class PytorchcvConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class PytorchcvChannelGate(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.max_pool = nn.AdaptiveMaxPool2d((1, 1))
        self.mlp = PytorchcvMLP(channels, reduction)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = self.sigmoid(self.mlp(self.avg_pool(x)) + self.mlp(self.max_pool(x)))
        return x * att.unsqueeze(2).unsqueeze(3).expand_as(x)


class PytorchcvSpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = PytorchcvConvBlock(2, 1, 7)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = torch.cat((x.max(dim=1)[0].unsqueeze(1), x.mean(dim=1).unsqueeze(1)), dim=1)
        return x * self.sigmoid(self.conv(att))


class PytorchcvCbamBlock(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.ch_gate = PytorchcvChannelGate(channels, reduction)
        self.sp_gate = PytorchcvSpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sp_gate(self.ch_gate(x))


# --- official CBAM (Jongchan/attention-module, MODELS/cbam.py): the sigmoid is called functionally ---------


class OfficialBasicConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, dims: int = 2):
        super().__init__()
        conv, bn = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
        self.conv = conv(cin, cout, kernel, padding=(kernel - 1) // 2, bias=False)
        self.bn = bn(cout, eps=1e-5, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class OfficialFlatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.size(0), -1)


class OfficialChannelGate(nn.Module):
    def __init__(self, channels: int, reduction: int = 4, pool_types: tuple[str, ...] = ("avg", "max")):
        super().__init__()
        hidden = channels // reduction
        self.mlp = nn.Sequential(OfficialFlatten(), nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.pool_types = pool_types

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        window = tuple(x.shape[2:])
        for pool in self.pool_types:
            if pool == "avg":
                pooled = (F.avg_pool2d if x.dim() == 4 else F.avg_pool3d)(x, window, stride=window)
            else:
                pooled = (F.max_pool2d if x.dim() == 4 else F.max_pool3d)(x, window, stride=window)
            raw = self.mlp(pooled)
            total = raw if total is None else total + raw
        scale = F.sigmoid(total)
        for _ in range(x.dim() - 2):
            scale = scale.unsqueeze(-1)
        return x * scale.expand_as(x)


class OfficialChannelPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)


class OfficialSpatialGate(nn.Module):
    def __init__(self, dims: int = 2):
        super().__init__()
        self.compress = OfficialChannelPool()
        self.spatial = OfficialBasicConv(2, 1, 7 if dims == 2 else 3, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * F.sigmoid(self.spatial(self.compress(x)))


class OfficialCBAM(nn.Module):
    def __init__(self, channels: int, reduction: int = 4, dims: int = 2):
        super().__init__()
        self.ChannelGate = OfficialChannelGate(channels, reduction)
        self.SpatialGate = OfficialSpatialGate(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SpatialGate(self.ChannelGate(x))


# --- ultralytics (ultralytics/nn/modules/conv.py) ---------------------------------------------------------


class UltralyticsChannelAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, 1, 0, bias=True)
        self.act = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(self.fc(self.pool(x)))


class UltralyticsSpatialAttention(nn.Module):
    def __init__(self, kernel: int = 7):
        super().__init__()
        self.cv1 = nn.Conv2d(2, 1, kernel, padding=3 if kernel == 7 else 1, bias=False)
        self.act = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = torch.cat([torch.mean(x, 1, keepdim=True), torch.max(x, 1, keepdim=True)[0]], 1)
        return x * self.act(self.cv1(maps))


class UltralyticsCBAM(nn.Module):
    def __init__(self, channels: int, kernel: int = 7):
        super().__init__()
        self.channel_attention = UltralyticsChannelAttention(channels)
        self.spatial_attention = UltralyticsSpatialAttention(kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial_attention(self.channel_attention(x))


# --- CBAM.PyTorch-style modules that return the gate; the block multiplies (``self.ca(out) * out``) -------


class ReturningChannelAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.fc2(self.relu1(self.fc1(self.avg_pool(x))))
        mx = self.fc2(self.relu1(self.fc1(self.max_pool(x))))
        return self.sigmoid(avg + mx)


class ReturningSpatialAttention(nn.Module):
    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.mean(x, dim=1, keepdim=True)
        mx, _ = torch.max(x, dim=1, keepdim=True)
        return self.sigmoid(self.conv1(torch.cat([mean, mx], dim=1)))


class TorchvisionStyleSE3d(nn.Module):
    """A 3-D SqueezeExcitation in torchvision's layout (AdaptiveAvgPool3d, 1×1×1 convs, scale_activation)."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Conv3d(channels, squeeze, 1)
        self.fc2 = nn.Conv3d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


# --- ECA-Net (BangguWu/ECANet, models/eca_module.py) -----------------------------------------------------


class EcaNetLayer(nn.Module):
    def __init__(self, kernel_size: int = 3):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.avg_pool(x).squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * self.sigmoid(y).expand_as(x)
