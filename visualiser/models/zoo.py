"""Published ImageNet / Kinetics networks with SE, CBAM or ECA attention, and where their weights are.

Every architecture here is proved equal to the code that trained its checkpoint by
``tests/test_parity.py`` (same keys and shapes after remapping, same logits). Numbers (accuracy,
preprocessing, checksums) are the publishers' own; sizes are approximate download sizes.

ImageNet accuracies are top-1 / top-5 on the 50k validation images at 224 px as the publishers
report them; Kinetics-400 accuracies are torchvision's video-level figures (16-frame clips).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visualiser.models.configs import ResNetConfig
from visualiser.models.registry import ModelSpec, Preprocess, WeightsSource, register

if TYPE_CHECKING:  # the builders import the networks (and torch) when first called
    from visualiser.models.resnet import ResNet
    from visualiser.models.video_resnet import VideoResNet


def build_resnet(cfg: ResNetConfig) -> ResNet:
    """``resnet.build_resnet``, imported on first use."""
    from visualiser.models.resnet import build_resnet as build  # torch loads when a model is first built

    return build(cfg)


SE_TIMM = (("reduction", 16), ("width_rule", "divisible8"), ("bias", True))
SE_FLOOR = (("reduction", 16), ("width_rule", "floor"), ("bias", True))
CBAM_PYTORCHCV = (
    ("reduction", 16),
    ("mlp_form", "linear"),
    ("bias", True),
    ("spatial_kernel", 7),
    ("order", "max_mean"),
)

SENET_CITATION = "Hu, Shen, Albanie, Sun, Wu. Squeeze-and-Excitation Networks. CVPR 2018 / TPAMI 2019. arXiv:1709.01507"
CBAM_CITATION = "Woo, Park, Lee, Kweon. CBAM: Convolutional Block Attention Module. ECCV 2018. arXiv:1807.06521"
ECA_CITATION = (
    "Wang, Wu, Zhu, Li, Zuo, Hu. ECA-Net: Efficient Channel Attention for Deep CNNs. CVPR 2020. arXiv:1910.03151"
)
R21D_CITATION = (
    "Tran, Wang, Torresani, Ray, LeCun, Paluri. A Closer Look at Spatiotemporal Convolutions for Action "
    "Recognition. CVPR 2018. arXiv:1711.11248"
)
TIMM_LICENSE = "Apache-2.0 (timm weights, trained on ImageNet-1k; check ImageNet terms for your use)"
IMAGENET_DOMAIN = "ImageNet-1k photos, 1000 classes"
KINETICS_DOMAIN = "Kinetics-400 action clips, 400 classes"
IMAGENET_BILINEAR = Preprocess(input_size=224, crop_pct=0.875, interpolation="bilinear")
KINETICS_VIDEO = Preprocess(
    input_size=112,
    crop_pct=1.0,
    interpolation="bilinear",
    mean=(0.43216, 0.394666, 0.37645),
    std=(0.22803, 0.22145, 0.216989),
    frames=16,
    resize_hw=(128, 171),
    antialias=False,
)


# --- architectures (also used by the parity tests) ------------------------------------------


def seresnet50_timm() -> ResNet:
    """timm ``seresnet50``: stride on the 3x3, SE width ``make_divisible(C/16, 8)`` with bias."""
    return build_resnet(ResNetConfig(attn="se", attn_options=SE_TIMM))


def ecaresnet50d_timm() -> ResNet:
    """timm ``ecaresnet50d``: ResNet-D deep stem (32, 32, 64) and avg-pool shortcuts, ECA after bn3."""
    return build_resnet(ResNetConfig(stem="deep", stem_width=64, avg_down=True, attn="eca"))


def legacy_seresnet50() -> ResNet:
    """SENet authors' Caffe SE-ResNet-50 (timm ``legacy_seresnet50``): stride on the 1x1, ceil-mode max-pool."""
    return build_resnet(ResNetConfig(style="caffe", attn="se", attn_options=SE_FLOOR))


def legacy_seresnet18() -> ResNet:
    """timm ``legacy_seresnet18``: Caffe-style basic blocks with a ReLU before SE, SE width C//16."""
    return build_resnet(
        ResNetConfig(block="basic", layers=(2, 2, 2, 2), style="caffe", attn="se", attn_options=SE_FLOOR)
    )


def cbam_resnet50_pytorchcv() -> ResNet:
    """pytorchcv ``cbam_resnet50``: stride on the 3x3, CBAM with a Linear MLP (bias) and (max, mean) spatial input."""
    return build_resnet(ResNetConfig(attn="cbam", attn_options=CBAM_PYTORCHCV))


def seresnet50_pytorchcv() -> ResNet:
    """pytorchcv ``seresnet50`` (not registered; parity-tested): timm layout but stride on the 1x1."""
    return build_resnet(ResNetConfig(stride_in_1x1=True, attn="se", attn_options=SE_FLOOR))


def r3d_18() -> VideoResNet:
    from visualiser.models.video_resnet import build_r3d_18  # torch loads when a model is first built

    return build_r3d_18(num_classes=400)


def r2plus1d_18() -> VideoResNet:
    from visualiser.models.video_resnet import build_r2plus1d_18  # torch loads when a model is first built

    return build_r2plus1d_18(num_classes=400)


# --- registry entries -------------------------------------------------------------------------

register(
    ModelSpec(
        name="seresnet50.a1_in1k",
        title="SE-ResNet-50 (timm, A1 recipe)",
        task="image",
        builder=seresnet50_timm,
        weights=WeightsSource(
            kind="hub", location="timm/seresnet50.a1_in1k", filename="model.safetensors", key_map="timm", size_mb=112.5
        ),
        preprocess=Preprocess(input_size=224, crop_pct=0.95, interpolation="bicubic"),
        labels="imagenet1k",
        domain=IMAGENET_DOMAIN,
        attention="se",
        citation=SENET_CITATION + "; weights: Wightman, Touvron, Jégou, ResNet strikes back, arXiv:2110.00476",
        license=TIMM_LICENSE,
        description=(
            "ResNet-50 with a Squeeze-and-Excitation gate after every bottleneck's last BN: global average "
            "pool, 1x1 conv to C/16 channels, ReLU, 1x1 conv back, sigmoid, scale. Trained by timm with the "
            "'ResNet strikes back' A1 recipe (600 epochs)."
        ),
        metrics={"imagenet_top1": 80.01, "imagenet_top5": 94.70},
    )
)

register(
    ModelSpec(
        name="ecaresnet50d.miil_in1k",
        title="ECA-ResNet-50-D (timm, MIIL)",
        task="image",
        builder=ecaresnet50d_timm,
        weights=WeightsSource(
            kind="hub",
            location="timm/ecaresnet50d.miil_in1k",
            filename="model.safetensors",
            key_map="timm",
            size_mb=102.4,
        ),
        preprocess=Preprocess(input_size=224, crop_pct=0.875, interpolation="bicubic"),
        labels="imagenet1k",
        domain=IMAGENET_DOMAIN,
        attention="eca",
        citation=ECA_CITATION + "; ResNet-D: He et al., Bag of Tricks, arXiv:1812.01187",
        license=TIMM_LICENSE,
        description=(
            "ResNet-50-D (deep 3x3 stem, average-pool shortcuts) with Efficient Channel Attention: the pooled "
            "channel vector passes through one 1-D convolution (kernel 5 or 7, no bias) and a sigmoid; no "
            "dimensionality reduction. Weights trained by Alibaba MIIL, released through timm."
        ),
        metrics={"imagenet_top1": 80.63, "imagenet_top5": 95.31},
    )
)

register(
    ModelSpec(
        name="legacy_seresnet50",
        title="SE-ResNet-50 (SENet authors, Caffe)",
        task="image",
        builder=legacy_seresnet50,
        weights=WeightsSource(
            kind="url",
            location="https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-cadene/se_resnet50-ce0d4300.pth",
            checksum="sha256:ce0d4300",
            key_map="legacy_senet",
            size_mb=112.6,
        ),
        preprocess=IMAGENET_BILINEAR,
        labels="imagenet1k",
        domain=IMAGENET_DOMAIN,
        attention="se",
        citation=SENET_CITATION,
        license="Apache-2.0 (SENet authors' Caffe model, ported to PyTorch by Cadene; hosted by timm)",
        description=(
            "The original SE-ResNet-50 released by the SENet authors (ILSVRC 2017 winners' code base), in "
            "Caffe style: the stride sits on each stage's first 1x1 conv and the stem max-pool rounds up."
        ),
        metrics={"imagenet_top1": 77.65, "imagenet_top5": 93.73},
    )
)

register(
    ModelSpec(
        name="legacy_seresnet18",
        title="SE-ResNet-18 (timm legacy)",
        task="image",
        builder=legacy_seresnet18,
        weights=WeightsSource(
            kind="url",
            location="https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/seresnet18-4bb0ce65.pth",
            checksum="sha256:4bb0ce65",
            key_map="legacy_senet",
            size_mb=47.2,
        ),
        preprocess=Preprocess(input_size=224, crop_pct=0.875, interpolation="bicubic"),
        labels="imagenet1k",
        domain=IMAGENET_DOMAIN,
        attention="se",
        citation=SENET_CITATION,
        license="Apache-2.0 (timm weights)",
        description=(
            "A small SE-ResNet (basic blocks, 11.8 M parameters) in the SENet authors' layout; SE squeezes "
            "64..512 channels to C/16. Quick to run, and its 8 SE gates are easy to compare."
        ),
        metrics={"imagenet_top1": 71.74, "imagenet_top5": 90.34},
    )
)

register(
    ModelSpec(
        name="cbam_resnet50",
        title="CBAM-ResNet-50 (pytorchcv / imgclsmob)",
        task="image",
        builder=cbam_resnet50_pytorchcv,
        weights=WeightsSource(
            kind="url",
            location="https://github.com/osmr/imgclsmob/releases/download/v0.0.537/cbam_resnet50-0505-d8cf8488.pth.zip",
            checksum="sha1:d8cf8488efb97afecd6b3287a3ca9fa093fc3127",
            key_map="pytorchcv_cbam",
            size_mb=112.5,
            archive="zip",
        ),
        preprocess=IMAGENET_BILINEAR,
        labels="imagenet1k",
        domain=IMAGENET_DOMAIN,
        attention="cbam",
        citation=CBAM_CITATION + "; weights: Semery, imgclsmob / pytorchcv",
        license="MIT (pytorchcv / imgclsmob)",
        description=(
            "ResNet-50 with CBAM after every bottleneck: a channel gate (one shared MLP on the average- and "
            "max-pooled vectors, summed, sigmoid) then a spatial gate (7x7 conv over the channel-max and "
            "channel-mean maps, BN, sigmoid). Trained in Gluon by imgclsmob and converted to PyTorch."
        ),
        metrics={"imagenet_top1": 79.83, "imagenet_top5": 94.95},
    )
)

register(
    ModelSpec(
        name="r3d_18",
        title="R3D-18 (torchvision, Kinetics-400)",
        task="clip",
        builder=r3d_18,
        weights=WeightsSource(
            kind="url",
            location="https://download.pytorch.org/models/r3d_18-b3b3357e.pth",
            checksum="sha256:b3b3357e",
            key_map="torchvision_video",
            size_mb=133.6,
        ),
        preprocess=KINETICS_VIDEO,
        labels="kinetics400",
        domain=KINETICS_DOMAIN,
        attention="none",
        citation=R21D_CITATION,
        license="BSD-3-Clause (torchvision weights, trained on Kinetics-400)",
        description=(
            "An 18-layer ResNet whose every convolution is 3x3x3 over (time, height, width); the stem is a "
            "3x7x7 Conv3d. No attention: it is here to show how 3-D convolution slides over a clip."
        ),
        metrics={"kinetics400_top1": 63.20, "kinetics400_top5": 83.48},
    )
)

register(
    ModelSpec(
        name="r2plus1d_18",
        title="R(2+1)D-18 (torchvision, Kinetics-400)",
        task="clip",
        builder=r2plus1d_18,
        weights=WeightsSource(
            kind="url",
            location="https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth",
            checksum="sha256:91a641e6",
            key_map="torchvision_video",
            size_mb=126.1,
        ),
        preprocess=KINETICS_VIDEO,
        labels="kinetics400",
        domain=KINETICS_DOMAIN,
        attention="none",
        citation=R21D_CITATION,
        license="BSD-3-Clause (torchvision weights, trained on Kinetics-400)",
        description=(
            "R3D-18 with every 3x3x3 convolution factorised into a 1x3x3 spatial conv, BN, ReLU and a 3x1x1 "
            "temporal conv, keeping the parameter count; more accurate than R3D-18 on Kinetics-400."
        ),
        metrics={"kinetics400_top1": 67.46, "kinetics400_top5": 86.18},
    )
)
