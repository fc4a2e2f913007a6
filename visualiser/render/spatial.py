"""Spatial attention heatmaps on the pixels they were computed from.

A CBAM spatial gate is an (h, w) grid over the model's *crop*, not over the uploaded image. Each
gate is therefore mapped through ``result.geometry`` onto the original image: the heatmap fills
exactly the crop region, the rest of the image (never seen by the model) is dimmed and the crop
box is outlined. Every heatmap states its colour range and normalisation (idea 11, honest colour).

``overlay``, ``spatial_grid`` and ``gradcam_vs_attention`` draw with numpy and Pillow (milliseconds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from visualiser.errors import VisualiserError
from visualiser.render.canvas_map import crop_box_on, gate_on_original, map_onto_canvas, pixel_span
from visualiser.render.colour import colourise, value_range
from visualiser.render.compose import (
    blend_region,
    caption,
    colorbar_strip,
    dim,
    dim_outside,
    fit_image,
    hstack,
    message_image,
    outline,
    vstack,
)
from visualiser.render.figures import new_figure
from visualiser.render.options import DEFAULT_CMAP, Normalise
from visualiser.render.words import say
from visualiser.result import BlockAttention, CropGeometry, ImageResult

if TYPE_CHECKING:
    from visualiser.scores import MapAgreement


def normalise_text(normalise: Normalise, lang: str = "en") -> str:
    """What the colours of a heatmap span under ``normalise``, in words."""
    return say(lang, f"norm_{normalise}")


def paint_gate(
    image: np.ndarray,
    gate: np.ndarray,
    geometry: CropGeometry,
    lo: float,
    hi: float,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
) -> np.ndarray:
    """``image`` (the original or a resized copy) with the gate blended over the crop region.

    The gate is mapped onto the crop box by ``canvas_map.map_onto_canvas``, evaluated only on the crop's pixels
    (they are a rectangle); the rest is dimmed and the crop box outlined.
    """
    if np.ndim(gate) != 2:
        raise ValueError(f"expected a 2-D (H, W) gate, got shape {np.shape(gate)}")
    height, width = image.shape[:2]
    box = crop_box_on(geometry, (width, height))
    painted = dim(image)
    x0, x1 = pixel_span(box[0], box[2], width)
    y0, y1 = pixel_span(box[1], box[3], height)
    if x1 > x0 and y1 > y0:
        values, _ = map_onto_canvas(gate, box, (width, height), rows=(y0, y1), columns=(x0, x1))
        painted[y0:y1, x0:x1] = blend_region(image[y0:y1, x0:x1], colourise(values, lo, hi, cmap), alpha)
    return outline(painted, box)


def _spatial_gate(block: BlockAttention) -> np.ndarray:
    if block.spatial_gate is None:
        raise VisualiserError(f"block {block.name!r} ({block.kind}) has no spatial gate; only CBAM blocks have one")
    if block.spatial_gate.ndim != 2:
        raise VisualiserError(f"block {block.name!r} has a {block.spatial_gate.ndim}-D gate; see the clip views")
    return block.spatial_gate


def _range(result: ImageResult, gate: np.ndarray, normalise: Normalise) -> tuple[float, float]:
    return value_range([b.spatial_gate for b in result.spatial_blocks], normalise, gate)  # type: ignore[misc]


SCREEN_MIN_SIDE = 448  # front ends enlarge smaller inputs to this: 96 px shapes are unreadable as they are
GRADCAM_ALONE_SIDE = 480  # Grad-CAM shown on its own (no spatial gate to compare with) fits in this square


def overlay(
    result: ImageResult,
    block_name: str,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    normalise: Normalise = "block",
    with_colorbar: bool = True,
    max_side: int | None = 1024,
    min_side: int | None = None,
    lang: str = "en",
) -> np.ndarray:
    """The block's spatial gate on the original image, with a colorbar stating range and normalisation.

    ``max_side`` caps the longer side (large uploads are shown downscaled; the mapping is unchanged);
    ``min_side`` enlarges small inputs (a 96 px shape) so a screen shows the gate cells and a readable bar.
    """
    block = result.block(block_name)
    gate = _spatial_gate(block)
    lo, hi = _range(result, gate, normalise)
    image = result.original_image
    if max_side is not None:
        image = fit_image(image, max_side, max_side)
    if min_side is not None and max(image.shape[:2]) < min_side:
        image = fit_image(image, min_side, min_side, enlarge=True)
    painted = paint_gate(image, gate, result.geometry, lo, hi, alpha, cmap)
    if not with_colorbar:
        return painted
    size = f"{gate.shape[0]}x{gate.shape[1]}"
    label = say(lang, "overlay_bar", block=block.label, size=size, normalise=normalise_text(normalise, lang))
    return vstack([painted, colorbar_strip(painted.shape[1], lo, hi, label, cmap)])


def overlay_figure(
    result: ImageResult,
    block_name: str,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    normalise: Normalise = "block",
    lang: str = "en",
) -> Figure:
    """Matplotlib variant of ``overlay`` with a real colorbar (for export; rendered on demand)."""
    block = result.block(block_name)
    fig = new_figure(6.4, 5.2)
    ax = fig.add_subplot()
    shown = draw_overlay(ax, result, block, alpha, cmap, normalise)
    gate = _spatial_gate(block)
    size = f"{gate.shape[0]}x{gate.shape[1]}"
    ax.set_title(say(lang, "overlay_title", model=result.model_title, block=block.label, size=size), fontsize=10)
    bar = fig.colorbar(shown, ax=ax, shrink=0.8)
    bar.set_label(normalise_text(normalise, lang))
    bar.set_ticks(list(shown.get_clim()))
    return fig


def draw_overlay(
    ax: Axes,
    result: ImageResult,
    block: BlockAttention,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    normalise: Normalise = "block",
) -> AxesImage:
    """The block's spatial gate over the original on ``ax`` (outside the crop dimmed, the crop outlined).

    Returns the gate's image, whose colour limits are the range that ``normalise`` chose (for a colorbar).
    """
    gate = _spatial_gate(block)
    lo, hi = _range(result, gate, normalise)
    left, top, right, bottom = result.geometry.crop_in_original()
    width, height = result.geometry.original_size
    _, inside = gate_on_original(np.zeros((1, 1), np.float32), result.geometry)
    ax.imshow(dim_outside(result.original_image, inside).astype(np.uint8), extent=(0, width, height, 0))
    shown = ax.imshow(
        gate, cmap=cmap, vmin=lo, vmax=hi, alpha=alpha, interpolation="bilinear", extent=(left, right, bottom, top)
    )
    ax.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, edgecolor="white", linewidth=1.5))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    return shown


def spatial_grid(
    result: ImageResult,
    normalise: Normalise = "block",
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    tile_width: int = 200,
    columns: int | None = 4,
    lang: str = "en",
) -> np.ndarray:
    """Every CBAM block's spatial gate on a thumbnail of the original, in a labelled grid (eager view).

    Thumbnails are scaled to ``tile_width`` both ways, so small inputs still get readable captions.
    ``columns=None`` lays the tiles out about as wide as tall (``square_columns``), to sit beside a square.
    """
    blocks = result.spatial_blocks
    if not blocks:
        return message_image(say(lang, "no_spatial", model=result.model_title, kinds=blocks_kinds(result)))
    columns = columns or square_columns(len(blocks))
    thumb = fit_image(result.original_image, tile_width, tile_width, enlarge=True)
    tiles = []
    for block in blocks:
        gate = _spatial_gate(block)
        lo, hi = _range(result, gate, normalise)
        painted = paint_gate(thumb, gate, result.geometry, lo, hi, alpha, cmap)
        size = f"{gate.shape[0]}x{gate.shape[1]}"
        lines = [block.label, say(lang, "tile_range", size=size, lo=f"{gate.min():.2f}", hi=f"{gate.max():.2f}")]
        tiles.append(vstack([painted, caption(thumb.shape[1], lines, size=12)]))
    rows = [hstack(tiles[i : i + columns], gap=6) for i in range(0, len(tiles), columns)]
    grid = vstack(rows, gap=6)
    if normalise == "block":
        low, high = say(lang, "min"), say(lang, "max")
        bar = colorbar_strip(grid.shape[1], low, high, say(lang, "grid_own_range"), cmap)
    else:
        lo, hi = _range(result, blocks[0].spatial_gate, normalise)  # type: ignore[arg-type]
        bar = colorbar_strip(grid.shape[1], lo, hi, normalise_text(normalise, lang), cmap)
    return vstack([grid, bar], gap=4)


def square_columns(tiles: int) -> int:
    """Columns that make a grid of ``tiles`` about as wide as it is tall (1 → 1, 4 → 2, 16 → 4, 5 → 3)."""
    columns = 1
    while columns * columns < tiles:
        columns += 1
    return columns


def blocks_kinds(result: ImageResult) -> str:
    """The attention kinds present, e.g. "se" or "se/eca"."""
    return "/".join(sorted({b.kind for b in result.blocks})) or "no"


def _class_label(result: ImageResult) -> str:
    index = result.gradcam_class
    for p in result.predictions:
        if p.index == index:
            return p.label
    return str(index)


def gradcam_vs_attention(
    result: ImageResult,
    block_name: str,
    agreement: MapAgreement | None,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    panel_width: int = 320,
    lang: str = "en",
) -> np.ndarray:
    """Grad-CAM and the block's spatial gate side by side on the original, with their agreement scores.

    ``agreement`` is ``visualiser.analysis.agreement.map_agreement(result.gradcam, gate)`` (Spearman rank
    correlation and IoU of the top regions at a common resolution over the crop); it may be None only
    when the result has no Grad-CAM, and the picture then says so. Grad-CAM is class-discriminative
    (top-1 class, last stage); the gate is what the block applied, so low agreement is a finding.
    """
    block = result.block(block_name)
    gate = _spatial_gate(block)
    if result.gradcam is None:
        return message_image(say(lang, "cam_missing"), 2 * panel_width + 6, 200)
    if agreement is None:
        raise ValueError("pass the agreement of Grad-CAM and this gate (visualiser.analysis.agreement.map_agreement)")
    thumb = fit_image(result.original_image, panel_width, panel_width, enlarge=True)
    lo, hi = float(gate.min()), float(gate.max())
    cam_panel = paint_gate(thumb, result.gradcam, result.geometry, 0.0, 1.0, alpha, cmap)
    gate_panel = paint_gate(thumb, gate, result.geometry, lo, hi, alpha, cmap)
    width = thumb.shape[1]
    cam_text = [say(lang, "cam_class", label=_class_label(result)), say(lang, "cam_scale")]
    gate_text = [say(lang, "gate_panel", block=block.label), say(lang, "gate_range", lo=f"{lo:.2f}", hi=f"{hi:.2f}")]
    panels = hstack(
        [vstack([cam_panel, caption(width, cam_text, 12)]), vstack([gate_panel, caption(width, gate_text, 12)])],
        gap=6,
    )
    rho = say(lang, "undefined_constant") if agreement.spearman is None else f"{agreement.spearman:.2f}"
    rows, columns = agreement.resolution
    top = round(100 * agreement.top_fraction)
    summary = [say(lang, "agreement", size=f"{rows}x{columns}", rho=rho, top=top, iou=f"{agreement.iou_top:.2f}")]
    bar = colorbar_strip(panels.shape[1], say(lang, "low"), say(lang, "high"), say(lang, "cam_bar"), cmap)
    return vstack([panels, caption(panels.shape[1], summary, 13), bar])


def gradcam_alone(
    result: ImageResult,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    min_side: int | None = None,
    lang: str = "en",
) -> np.ndarray:
    """Grad-CAM on the original with its colour bar and class, for models without spatial attention.

    The picture fits in ``GRADCAM_ALONE_SIDE``; ``min_side`` enlarges small inputs, as for ``overlay``.
    """
    if result.gradcam is None:
        return message_image(say(lang, "cam_not_computed"))
    thumb = fit_image(result.original_image, GRADCAM_ALONE_SIDE, GRADCAM_ALONE_SIDE)
    if min_side is not None and max(thumb.shape[:2]) < min_side:
        thumb = fit_image(thumb, min_side, min_side, enlarge=True)
    painted = paint_gate(thumb, result.gradcam, result.geometry, 0.0, 1.0, alpha, cmap)
    label = say(lang, "cam_alone_bar", label=_class_label(result))
    return vstack([painted, colorbar_strip(painted.shape[1], 0.0, 1.0, label, cmap)])
