"""Hand-built frozen results for the renderer tests: known arrays, no network, no weights."""

from __future__ import annotations

import numpy as np

from visualiser.result import BlockAttention, ClipResult, CropGeometry, ImageResult, Prediction

RESNET50_STAGES = ((1, 3, 256, 56), (2, 4, 512, 28), (3, 6, 1024, 14), (4, 3, 2048, 7))  # stage, blocks, C, H=W
IMAGENET_GEOMETRY_640x480 = CropGeometry((640, 480), (341, 256), (58, 16, 282, 240))  # 224 crop, crop_pct 0.875


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def make_block(
    name: str,
    stage: int,
    index: int,
    kind: str,
    channels: int,
    spatial: tuple[int, ...] | None = None,
    seed: int = 0,
    kernel: int = 7,
) -> BlockAttention:
    """A block whose fields are mutually consistent (gate = sigmoid(logits) etc.), like the analysis makes."""
    rng = np.random.default_rng(seed)
    fields: dict = {}
    if kind in ("se", "eca"):
        squeeze = rng.gamma(2.0, 0.5, channels).astype(np.float32)
        fields["squeeze"] = squeeze
        fields["channel_gate"] = _sigmoid(2.0 * (squeeze - squeeze.mean()) + rng.normal(0, 0.5, channels))
    if kind == "cbam":
        avg = rng.normal(0, 1.5, channels).astype(np.float32)
        mx = rng.normal(0.5, 1.5, channels).astype(np.float32)
        fields.update(avg_logits=avg, max_logits=mx, channel_gate=_sigmoid(avg + mx))
        shape = spatial or (7, 7)
        mean_map = rng.normal(0, 1, shape).astype(np.float32)
        max_map = (mean_map + rng.gamma(2.0, 1.0, shape)).astype(np.float32)
        logits = (0.8 * mean_map + 0.3 * max_map - 0.5).astype(np.float32)
        k_shape = (2,) + (kernel,) * len(shape)
        fields.update(
            mean_map=mean_map,
            max_map=max_map,
            spatial_logits=logits,
            spatial_gate=_sigmoid(logits),
            spatial_kernel=rng.normal(0, 0.1, k_shape).astype(np.float32),
            spatial_order="max_mean",
        )
    return BlockAttention(name=name, stage=stage, block=index, kind=kind, channels=channels, **fields)


def make_image_result(
    blocks: tuple[BlockAttention, ...],
    geometry: CropGeometry = IMAGENET_GEOMETRY_640x480,
    gradcam: np.ndarray | None = None,
    num_classes: int = 10,
    seed: int = 0,
) -> ImageResult:
    """An ImageResult around the given blocks with a noise image of the geometry's original size."""
    rng = np.random.default_rng(seed)
    width, height = geometry.original_size
    original = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    left, top, right, bottom = geometry.crop_box
    logits = rng.normal(0, 2, num_classes)
    probabilities = (np.exp(logits) / np.exp(logits).sum()).astype(np.float32)
    order = np.argsort(-probabilities)[:5]
    predictions = tuple(Prediction(int(i), f"class {i}", float(probabilities[i])) for i in order)
    return ImageResult(
        model="synthetic",
        model_title="Synthetic test net",
        predictions=predictions,
        probabilities=probabilities,
        input_image=np.zeros((bottom - top, right - left, 3), np.uint8),
        original_image=original,
        geometry=geometry,
        blocks=blocks,
        gradcam=gradcam,
        gradcam_class=None if gradcam is None else predictions[0].index,
    )


def resnet50_like_result(kind: str = "cbam", gradcam: bool = True) -> ImageResult:
    """ResNet-50 shaped: 16 blocks, C in 256..2048, 56²..7² gates, 640×480 original (for speed checks)."""
    blocks = []
    for stage, count, channels, side in RESNET50_STAGES:
        for i in range(count):
            spatial = (side, side) if kind == "cbam" else None
            blocks.append(make_block(f"layer{stage}.{i}.se", stage, i, kind, channels, spatial, seed=stage * 10 + i))
    cam = np.random.default_rng(5).random((7, 7)).astype(np.float32) if gradcam else None
    return make_image_result(tuple(blocks), gradcam=cam, num_classes=1000)


def small_result(kind: str = "cbam", gradcam: bool = False) -> ImageResult:
    """Three small blocks (an SE, a CBAM or two) on an off-centre crop of a 96×64 image."""
    geometry = CropGeometry((96, 64), (96, 64), (40, 8, 88, 56))
    blocks = (
        make_block("layer1.0.se", 1, 0, "se" if kind == "se" else "cbam", 16, (12, 12), seed=1),
        make_block("layer2.0.se", 2, 0, kind, 32, (6, 6), seed=2),
        make_block("layer3.0.se", 3, 0, kind, 64, (3, 3), seed=3),
    )
    cam = np.random.default_rng(7).random((3, 3)).astype(np.float32) if gradcam else None
    return make_image_result(blocks, geometry, cam)


def clip_result_2d(frames: int = 5, seed: int = 0) -> ClipResult:
    """A per-frame (2-D model) clip result: each frame carries its own ImageResult."""
    per_frame = []
    for t in range(frames):
        r = small_result("cbam")
        blocks = tuple(
            make_block(b.name, b.stage, b.block, b.kind, b.channels, b.spatial_gate.shape, seed=seed * 100 + t * 7 + j)
            for j, b in enumerate(r.blocks)
        )
        per_frame.append(make_image_result(blocks, r.geometry, seed=t))
    stack = np.stack([r.original_image for r in per_frame])
    probs = np.mean([r.probabilities for r in per_frame], axis=0)
    return ClipResult(
        model="synthetic",
        model_title="Synthetic 2-D net",
        frames=stack,
        timestamps=np.arange(frames, dtype=np.float64) / 4.0,
        predictions=per_frame[0].predictions,
        probabilities=probs,
        per_frame=tuple(per_frame),
        geometry=per_frame[0].geometry,
    )


def clip_result_3d(frames: int = 8, gate_frames: int = 4) -> ClipResult:
    """A 3-D model's clip result: one (T', H', W') spatial gate per block over all frames."""
    geometry = CropGeometry((80, 60), (80, 60), (10, 6, 58, 54))
    blocks = (
        make_block("layer1.0.se", 1, 0, "cbam", 16, (gate_frames, 8, 8), seed=1, kernel=3),
        make_block("layer2.0.se", 2, 0, "cbam", 32, (max(1, gate_frames // 2), 4, 4), seed=2, kernel=3),
    )
    rng = np.random.default_rng(3)
    return ClipResult(
        model="synthetic3d",
        model_title="Synthetic 3-D net",
        frames=rng.integers(0, 256, (frames, 60, 80, 3), dtype=np.uint8),
        timestamps=np.arange(frames, dtype=np.float64) / 8.0,
        predictions=(Prediction(0, "a", 0.7), Prediction(1, "b", 0.3)),
        probabilities=np.array([0.7, 0.3], np.float32),
        blocks=blocks,
        input_frames=np.zeros((frames, 48, 48, 3), np.uint8),
        geometry=geometry,
    )

