"""Small randomly initialised models registered under fake names, plus an example image and clip.

The app's tests must not depend on trained weights being present, so they register real networks
from the project's own ResNet code with weights kind ``"none"`` (PyTorch's default init, seeded).
Random weights are still a real network: probabilities sum to 1, gates lie in (0, 1), shapes match.
Labels reuse the shipped ImageNet / Kinetics name lists, because ``load_labels`` only reads files
under ``assets/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from visualiser.models import registry
from visualiser.models.registry import ModelSpec, Preprocess, WeightsSource
from visualiser.models.resnet import ResNetConfig, build_resnet
from visualiser.models.video_resnet import VideoResNetConfig, build_video_resnet

IMAGE_SIZE = 64
CLIP_FRAMES = 8
FAKE_IMAGE_MODELS = ("fake_plain", "fake_se", "fake_cbam", "fake_eca")
FAKE_CLIP_MODEL = "fake_motion3d"


def _image_builder(attn: str, seed: int) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        torch.manual_seed(seed)
        cfg = ResNetConfig(
            block="basic", layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), stem="small", stem_width=8,
            attn=attn, num_classes=1000,  # type: ignore[arg-type]
        )  # fmt: skip
        return build_resnet(cfg)

    return build


def _clip_builder(seed: int) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        torch.manual_seed(seed)
        cfg = VideoResNetConfig(
            layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), stem_width=8, stem_kernel=(3, 5, 5), attn="cbam",
            num_classes=400,
        )  # fmt: skip
        return build_video_resnet(cfg)

    return build


def fake_specs() -> list[ModelSpec]:
    """Specs for four 2-D fakes (none / SE / CBAM / ECA) and one 3-D CBAM clip fake."""
    image_pre = Preprocess(input_size=IMAGE_SIZE, crop_pct=1.0)
    specs = [
        ModelSpec(
            name=name,
            title=f"Fake {attn.upper()} ResNet",
            task="image",
            builder=_image_builder(attn, seed),
            weights=WeightsSource(kind="none"),
            preprocess=image_pre,
            labels="imagenet1k",
            attention=attn,
            embedded=True,
        )
        for seed, (name, attn) in enumerate(zip(FAKE_IMAGE_MODELS, ("none", "se", "cbam", "eca"), strict=True))
    ]
    specs.append(
        ModelSpec(
            name=FAKE_CLIP_MODEL,
            title="Fake CBAM-3D ResNet",
            task="clip",
            builder=_clip_builder(7),
            weights=WeightsSource(kind="none"),
            preprocess=Preprocess(input_size=IMAGE_SIZE, frames=CLIP_FRAMES, resize_hw=(72, 72)),
            labels="kinetics400",
            attention="cbam",
            embedded=True,
        )
    )
    return specs


@dataclass(frozen=True)
class FakeInputs:
    """Files the tests feed the app."""

    image: Path
    clip: Path
    corrupt_image: Path
    corrupt_clip: Path


def write_inputs(folder: Path) -> FakeInputs:
    """A drawn PNG (a bright disc on a gradient), a moving-square MP4 and two damaged files."""
    from PIL import Image

    from tests.support.clips import write_test_clip

    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:96, 0:128]
    picture = np.stack([xx * 2, yy * 2, np.full_like(xx, 80)], axis=-1).astype(np.uint8)
    picture[(yy - 48) ** 2 + (xx - 70) ** 2 < 20**2] = (250, 240, 40)
    image = folder / "disc.png"
    Image.fromarray(picture).save(image)
    frames = np.zeros((12, 64, 64, 3), np.uint8)
    for t in range(12):
        frames[t, 20:36, 4 + 4 * t : 20 + 4 * t] = (230, 60, 60)
    clip = folder / "square.mp4"
    write_test_clip(clip, frames, fps=8.0)
    corrupt_image = folder / "broken.png"
    corrupt_image.write_bytes(image.read_bytes()[:60])
    corrupt_clip = folder / "broken.mp4"
    corrupt_clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    return FakeInputs(image, clip, corrupt_image, corrupt_clip)


@pytest.fixture(scope="session", name="fake_models")
def fake_models_fixture() -> Iterator[list[str]]:
    """Register the fakes for the session and remove them (and their cached modules) afterwards."""
    from visualiser import pipeline

    specs = [s for s in fake_specs() if s.name not in {x.name for x in registry.list_specs()}]
    for spec in specs:
        registry.register(spec)
    try:
        yield [s.name for s in fake_specs()]
    finally:
        for spec in specs:
            registry.unregister(spec.name)
        pipeline.forget_models(s.name for s in specs)


@pytest.fixture(scope="session", name="fake_inputs")
def fake_inputs_fixture(tmp_path_factory: pytest.TempPathFactory) -> FakeInputs:
    """The example files, written once per session."""
    return write_inputs(tmp_path_factory.mktemp("inputs"))


@contextmanager
def fakes_hidden() -> Iterator[None]:
    """The registry as a user's app has it: fakes that an earlier module registered for the session are taken out
    (and put back after), so the model lists, the Compare groups and the defaults are the shipped ones."""
    from visualiser import pipeline

    names = {s.name for s in fake_specs()}
    hidden = [s for s in registry.list_specs() if s.name in names]
    for spec in hidden:
        registry.unregister(spec.name)
    pipeline.forget_models(s.name for s in hidden)
    try:
        yield
    finally:
        for spec in hidden:
            registry.register(spec)
