"""Export: every view of a result as PNG (and MP4 for clips), the arrays (NPZ), the summary (JSON),
and a manifest of what is in the bundle and with which options it was drawn (feature idea 14).

``write_image_figures`` / ``write_clip_figures`` write the pictures into a folder (the CLI uses them);
``write_bundle`` adds ``result.save()`` and ``manifest.json`` and zips everything. The scores the
pictures print come from ``pipeline.result_scores`` (agreement for an image, stability for a clip, the
model's reference statistics) and are handed in: nothing here computes them.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from visualiser import __version__
from visualiser.reference_stats import ReferenceStats
from visualiser.render import channels, clips, internals, spatial
from visualiser.render.eager import applicable_views, eager_views
from visualiser.render.options import DEFAULT_CMAP, Normalise
from visualiser.render.predictions import topk_chart
from visualiser.render.reference import reference_figure
from visualiser.result import BlockAttention, ClipResult, ImageResult

if TYPE_CHECKING:
    from visualiser.scores import ImageAgreement, StabilityScores

Picture = Figure | np.ndarray


@dataclass(frozen=True)
class BundleOptions:
    """How the pictures are drawn; recorded in the manifest."""

    alpha: float = 0.5
    cmap: str = DEFAULT_CMAP
    normalise: Normalise = "block"
    sort_channels: bool = True
    per_block: bool = True


@dataclass(frozen=True)
class _View:
    path: str  # relative, with extension
    view: str
    block: str | None
    make: Callable[[], Picture]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _squeeze_rho(agreement: ImageAgreement, block: BlockAttention) -> float | None:
    if block.name not in agreement.squeeze_gate:
        raise ValueError(f"the agreement scores have no squeeze/gate correlation for block {block.name!r}")
    return agreement.squeeze_gate[block.name]


def _block_views(
    result: ImageResult, block: BlockAttention, opts: BundleOptions, agreement: ImageAgreement
) -> Iterator[_View]:
    folder = f"blocks/{_safe(block.name)}"
    if block.channel_gate is not None:
        yield _View(
            f"{folder}/channel_bars.png",
            "channel_bars",
            block.name,
            lambda: channels.channel_bars(block, sort=opts.sort_channels, cmap=opts.cmap),
        )
    if block.squeeze is not None and block.channel_gate is not None:
        rho = _squeeze_rho(agreement, block)
        yield _View(
            f"{folder}/se_internals.png", "se_internals", block.name, lambda: internals.se_internals(block, rho)
        )
    if block.avg_logits is not None and block.max_logits is not None:
        yield _View(f"{folder}/cam_branches.png", "cam_branches", block.name, lambda: internals.cam_branches(block))
    if block.spatial_gate is not None and block.spatial_kernel is not None:
        yield _View(f"{folder}/sam_internals.png", "sam_internals", block.name, lambda: internals.sam_internals(block))
    if block.spatial_gate is not None and block.spatial_gate.ndim == 2:
        yield _View(
            f"{folder}/overlay.png",
            "overlay",
            block.name,
            lambda: spatial.overlay(result, block.name, opts.alpha, opts.cmap, opts.normalise),
        )
        if result.gradcam is not None:
            yield _View(
                f"{folder}/gradcam_vs_attention.png",
                "gradcam_vs_attention",
                block.name,
                lambda: spatial.gradcam_vs_attention(
                    result, block.name, agreement.gradcam.get(block.name), opts.alpha, opts.cmap
                ),
            )


def _image_views(
    result: ImageResult, opts: BundleOptions, stats: ReferenceStats | None, agreement: ImageAgreement
) -> Iterator[_View]:
    views = eager_views(agreement)
    for name in applicable_views(result, agreement):
        if name in ("overlay", "gradcam_vs_attention"):
            continue  # written per block below
        if name == "spatial_grid":
            yield _View(
                "spatial_grid.png",
                name,
                None,
                lambda: spatial.spatial_grid(result, opts.normalise, opts.alpha, opts.cmap),
            )
        else:
            yield _View(f"{name}.png", name, None, lambda fn=views[name]: fn(result))
    if any(b.channel_gate is not None for b in result.blocks):
        yield _View(
            "channel_barcode_figure.png",
            "channel_barcode_figure",
            None,
            lambda: channels.channel_barcode(result, cmap=opts.cmap),
        )
    if stats is not None:
        yield _View("reference.png", "reference", None, lambda: reference_figure(result, stats))
    focus = result.focus_block
    blocks = result.blocks if opts.per_block else (() if focus is None else (focus,))
    for block in blocks:
        yield from _block_views(result, block, opts, agreement)


def _clip_views(clip: ClipResult, opts: BundleOptions, stability: StabilityScores) -> Iterator[_View]:
    yield _View("predictions.png", "predictions", None, lambda: topk_chart(clip.predictions, title=clip.model_title))
    blocks = clip.frame_blocks(0)
    if not blocks:
        return
    default = clips.default_spatial_block(clip)
    for i in range(len(clip.frames)):
        yield _View(
            f"frames/frame_{i:03d}.png",
            "attention_frame",
            default,
            lambda i=i: clips.attention_frame(clip, i, default, opts.alpha, opts.cmap),
        )
    yield _View("stability.png", "stability", None, lambda: clips.stability(clip, stability))
    chosen = blocks if opts.per_block else [b for b in blocks if b.name == default]
    for block in chosen:
        if block.channel_gate is not None:
            yield _View(
                f"blocks/{_safe(block.name)}/channel_timeline.png",
                "channel_timeline",
                block.name,
                lambda b=block: clips.channel_timeline(clip, b.name, opts.cmap),
            )


def _write_picture(picture: Picture, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(picture, Figure):
        picture.savefig(path, format="png", dpi=100)
    else:
        Image.fromarray(picture).save(path, format="PNG")


def _write(views: Iterator[_View], directory: Path) -> list[tuple[Path, _View]]:
    written = []
    for view in views:
        target = directory / view.path
        _write_picture(view.make(), target)
        written.append((target, view))
    return written


def write_image_figures(
    result: ImageResult,
    directory: str | os.PathLike,
    options: BundleOptions | None = None,
    stats: ReferenceStats | None = None,
    *,
    agreement: ImageAgreement,
) -> list[Path]:
    """Every view of an image result as PNG under ``directory``; returns the paths.

    ``agreement`` is ``pipeline.result_scores(result).agreement``. ``options.per_block=False``
    writes the per-block figures for the focus block only (each detailed figure costs ~0.2 s of
    matplotlib, 16 blocks × 4 figures add up).
    """
    views = _image_views(result, options or BundleOptions(), stats, agreement)
    return [p for p, _ in _write(views, Path(directory))]


def write_clip_figures(
    clip: ClipResult, directory: str | os.PathLike, options: BundleOptions | None = None, *, stability: StabilityScores
) -> list[Path]:
    """Every view of a clip result (PNG frames, timelines, stability) plus the attention MP4.

    ``stability`` is ``pipeline.result_scores(clip).stability``.
    """
    opts = options or BundleOptions()
    out = Path(directory)
    paths = [p for p, _ in _write(_clip_views(clip, opts, stability), out)]
    if clip.frame_blocks(0):
        paths.append(clips.attention_video(clip, out / "attention.mp4", alpha=opts.alpha, cmap=opts.cmap))
    return paths


def write_bundle(
    result: ImageResult | ClipResult,
    directory: str | os.PathLike,
    options: BundleOptions | None = None,
    stats: ReferenceStats | None = None,
    *,
    agreement: ImageAgreement | None = None,
    stability: StabilityScores | None = None,
) -> Path:
    """Zip of ``result.save()`` (JSON + NPZ), every view as PNG (MP4 for clips) and ``manifest.json``.

    An image result needs ``agreement``, a clip result ``stability`` (both from ``pipeline.result_scores``).
    Returns ``<directory>/<model>-attention.zip``.
    """
    if isinstance(result, ImageResult) and agreement is None:
        raise ValueError("an image bundle needs agreement= (pipeline.result_scores(result).agreement)")
    if isinstance(result, ClipResult) and stability is None:
        raise ValueError("a clip bundle needs stability= (pipeline.result_scores(result).stability)")
    opts = options or BundleOptions()
    target_dir = Path(directory)
    target_dir.mkdir(parents=True, exist_ok=True)
    zip_path = target_dir / f"{_safe(result.model)}-attention.zip"
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        staging = Path(tmp)
        entries: list[dict[str, Any]] = []
        for path in result.save(staging, "result"):
            entries.append({"path": path.name, "view": "result_" + path.suffix.lstrip("."), "block": None})
        extra: dict[str, Any] = {}
        if isinstance(result, ImageResult) and agreement is not None:
            written = _write(_image_views(result, opts, stats, agreement), staging)
            entries += [{"path": v.path, "view": v.view, "block": v.block} for _, v in written]
            if result.gradcam is not None:
                extra["agreement"] = agreement.to_json()
        elif isinstance(result, ClipResult) and stability is not None:
            written = _write(_clip_views(result, opts, stability), staging)
            entries += [{"path": v.path, "view": v.view, "block": v.block} for _, v in written]
            if result.frame_blocks(0):
                video = clips.attention_video(result, staging / "attention.mp4", alpha=opts.alpha, cmap=opts.cmap)
                entries.append({"path": video.name, "view": "attention_video", "block": None})
        for entry in entries:
            entry["bytes"] = (staging / entry["path"]).stat().st_size
        manifest = {
            "format": "attention-visualiser bundle, version 1",
            "software": f"attention-visualiser {__version__}",
            "model": result.model,
            "model_title": result.model_title,
            "kind": "image" if isinstance(result, ImageResult) else "clip",
            "options": asdict(opts) | {"reference_stats": stats is not None},
            "files": entries,
            **extra,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        with zipfile.ZipFile(zip_path, "w") as archive:
            for path in sorted(p for p in staging.rglob("*") if p.is_file()):
                packed = path.suffix in (".png", ".mp4", ".npz")  # already compressed
                archive.write(
                    path,
                    path.relative_to(staging).as_posix(),
                    compress_type=zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED,
                )
    return zip_path
