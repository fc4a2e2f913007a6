"""Small networks around the replicas, plus the MobileNetV3-like and SE-ResNet-50-like nets of the bench.

``ReplicaNet`` puts any attention module after each stage's conv (like a block's ``se``); ``ReturningNet``
multiplies in the block (CBAM.PyTorch style); the unknown gates and the two non-gates (softmax over
channels, SiLU) are written here too. Weights: ``with_seeded_weights`` (CRC-32 of each key), eval mode.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tests.support import replicas as r
from visualiser.models.deterministic import with_seeded_weights

Factory = Callable[[int], nn.Module]


class Stage(nn.Module):
    def __init__(self, cin: int, cout: int, attention: nn.Module, dims: int = 2) -> None:
        super().__init__()
        conv, bn = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
        self.conv = conv(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn = bn(cout)
        self.relu = nn.ReLU()
        self.attn = attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(self.relu(self.bn(self.conv(x))))


class ReplicaNet(nn.Module):
    """Stem-free: ``stages.{i}`` (conv s2 → BN → ReLU → attention), global average, ``head``."""

    def __init__(self, factory: Factory, widths: tuple[int, ...] = (8, 16), classes: int = 5, dims: int = 2):
        super().__init__()
        chans = (3, *widths)
        self.stages = nn.Sequential(*(Stage(a, b, factory(b), dims) for a, b in itertools.pairwise(chans)))
        self.head = nn.Linear(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(x)
        return self.head(x.mean(tuple(range(2, x.dim()))))


def replica_net(factory: Factory, widths: tuple[int, ...] = (8, 16), classes: int = 5, dims: int = 2) -> nn.Module:
    """A seeded, eval-mode ``ReplicaNet``."""
    return with_seeded_weights(ReplicaNet(factory, widths, classes, dims))


class ReturningBlock(nn.Module):
    """CBAM.PyTorch's BasicBlock: ``out = self.ca(out) * out; out = self.sa(out) * out``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.ca = r.ReturningChannelAttention(cout)
        self.sa = r.ReturningSpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.ca(out) * out
        return self.sa(out) * out


class ReturningNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(ReturningBlock(3, 8))
        self.layer2 = nn.Sequential(ReturningBlock(8, 16))
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layer2(self.layer1(x)).mean((2, 3)))


class UnknownGate(nn.Module):
    """A custom gate no layout describes: logits from a depthwise conv summed over channels, and a
    channel gate through the hard-sigmoid written out, both applied in one forward."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.proj(x.flatten(2).mean(-1))
        x = x * (F.relu6(z + 3.0) / 6.0)[:, :, None, None]
        return x * torch.sigmoid(self.dw(x).sum(1, keepdim=True))


class SoftmaxChannels(nn.Module):
    """Not a sigmoid-family gate: softmax over channels (must not be reported)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.softmax(self.fc(x.mean((2, 3), keepdim=True)), dim=1)


class SiLUish(nn.Module):
    """Not attention: a gate the size of the feature map (``x * sigmoid(x)``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class Raising(nn.Module):
    """An SE module whose forward raises after its gate was computed (when ``fail`` is set)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.se = r.TimmSEModule(channels, 4)
        self.fail = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.se(x)
        if self.fail:
            raise RuntimeError("failing on purpose")
        return y


class DetectorLike(nn.Module):
    """Returns a dict (boxes, scores) like a detector: no class output, gates still there."""

    def __init__(self) -> None:
        super().__init__()
        self.body = ReplicaNet(lambda c: r.UltralyticsCBAM(c), widths=(8, 16))
        self.box = nn.Conv2d(16, 4, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.body.stages(x)
        return {"boxes": self.box(features), "scores": features.mean(1)}


# --- MobileNetV3-like (torchvision layout: features.N.block.M, hard-sigmoid SqueezeExcitation) -------------


def _divisible(v: float, d: int = 8) -> int:
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


class ConvNormActivation(nn.Sequential):
    def __init__(
        self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = None
    ) -> None:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False)]
        layers.append(nn.BatchNorm2d(cout))
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, hs: bool, stride: int) -> None:
        super().__init__()
        act = nn.Hardswish if hs else nn.ReLU
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(ConvNormActivation(cin, exp, 1, act=act))
        layers.append(ConvNormActivation(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(r.TorchvisionSqueezeExcitation(exp, _divisible(exp // 4), nn.Hardsigmoid))
        layers.append(ConvNormActivation(exp, cout, 1))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return out + x if self.use_res else out


MOBILENET_V3_LARGE = (  # (in, kernel, expanded, out, SE, hard-swish, stride): torchvision's mobilenet_v3_large
    (16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2), (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2), (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1), (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1), (160, 5, 960, 160, True, True, 1),
)  # fmt: skip
MOBILENET_TINY = ((16, 3, 32, 16, True, False, 2), (16, 3, 48, 24, True, True, 2), (24, 3, 72, 24, True, True, 1))


class MobileNetV3Like(nn.Module):
    def __init__(self, setting: tuple = MOBILENET_V3_LARGE, last: int = 1280, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvNormActivation(3, setting[0][0], 3, 2, act=nn.Hardswish)]
        layers += [InvertedResidual(*row) for row in setting]
        final = 6 * setting[-1][3]
        layers.append(ConvNormActivation(setting[-1][3], final, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        head = [nn.Linear(final, last), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(last, classes)]
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v3_like(tiny: bool = True) -> nn.Module:
    """MobileNetV3-Large's layout (or three small blocks), seeded, eval mode."""
    net = MobileNetV3Like(MOBILENET_TINY, 64, 5) if tiny else MobileNetV3Like()
    return with_seeded_weights(net)


# --- SE-ResNet-50-like (timm layout: layerS.i.{conv,bn}1-3, se = SEModule, downsample) ---------------------


class SEBottleneck(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        out = planes * 4
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out)
        self.se = r.TimmSEModule(out, max(8, out // 16))
        self.act = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))
        out += x if self.downsample is None else self.downsample(x)
        return self.act(out)


class SEResNetLike(nn.Module):
    def __init__(self, layers: tuple[int, ...] = (3, 4, 6, 3), width: int = 64, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1, self.act1 = nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = width
        for s, n in enumerate(layers):
            planes = width * 2**s
            blocks = [SEBottleneck(cin if i == 0 else planes * 4, planes, 2 if s and i == 0 else 1) for i in range(n)]
            self.add_module(f"layer{s + 1}", nn.Sequential(*blocks))
            cin = planes * 4
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean((2, 3)))


def se_resnet50_like(tiny: bool = True) -> nn.Module:
    """SE-ResNet-50's layout (or one block per stage, width 8), seeded, eval mode."""
    return with_seeded_weights(SEResNetLike((1, 1, 1, 1), 8, 5) if tiny else SEResNetLike())


# --- ViT-like (timm VisionTransformer layout: patch_embed.proj, cls token, blocks.N.attn.{qkv,q_norm,k_norm}) ---


class ViTAttention(nn.Module):
    """timm ``Attention``: q and k pass through ``q_norm`` / ``k_norm`` (Identity without qk_norm), (B, heads, N, d)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.q_norm, self.k_norm = nn.Identity(), nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class ViTBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), ViTAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class ViTLike(nn.Module):
    """A vision transformer: no feature map over the image's positions after the patch embedding."""

    def __init__(self, depth: int = 2, dim: int = 32, heads: int = 4, patch: int = 8, classes: int = 5) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.Sequential(*(ViTBlock(dim, heads) for _ in range(depth)))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x)
        tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        return self.head(self.norm(self.blocks(tokens))[:, 0])
