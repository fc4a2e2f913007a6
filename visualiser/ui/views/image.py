"""Image tab: analyse, draw every view from the stored result, Grad-CAM, interventions and the bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visualiser import catalogue
from visualiser.errors import InputError
from visualiser.result import ClipResult
from visualiser.types import ImageSource, ProgressFn
from visualiser.ui.views.cache import IMAGE_RESULTS, content_key
from visualiser.ui.views.fallback import picture_or_message
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.options import check_alpha, check_cmap, check_normalise, require
from visualiser.ui.views.text import Label, predictions_label, timings_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from visualiser.result import BlockAttention, ImageResult


def image_result(
    image: ImageSource | None, model: str | None, gradcam: bool = False, progress: ProgressFn | None = None
) -> ImageResult:
    """The analysis of ``image`` by ``model``, from the cache when this exact input was seen.

    A model used for the first time is loaded first, so a weights download reports to ``progress``.
    """
    from visualiser import pipeline

    require(image, "upload an image or pick an example")
    name = model or catalogue.default_model("image")
    if name is not None:
        pipeline.get_model(name, progress=progress)
    key = (content_key(image), name)
    if not gradcam:
        with_cam = IMAGE_RESULTS.get((*key, True))  # a Grad-CAM result answers a plain request too
        if with_cam is not None:
            return with_cam
    return IMAGE_RESULTS.get_or_make(
        (*key, gradcam),
        lambda: pipeline.analyse_image(image, model=name, top_k=5, gradcam=gradcam, sha1=_file_digest(image, key[0])),
    )


def _file_digest(source: object, key: str) -> str | None:
    """The cache key is the file's SHA-1 for a file or bytes (the pipeline need not hash it again); None for pixels."""
    return None if isinstance(source, np.ndarray) else key


def default_block(result: ImageResult) -> str | None:
    """The block shown first (``ImageResult.focus_block``); None for a model without attention."""
    block = result.focus_block
    return None if block is None else block.name


def block_choices(result: ImageResult) -> list[tuple[str, str]]:
    """Dropdown entries ``(label, name)`` for every attention block."""
    return [(f"{b.label} · {b.name}", b.name) for b in result.blocks]


def result_summary(result: ImageResult) -> dict[str, Any]:
    """The JSON an API caller gets: the result's summary plus every probability and channel gate."""
    summary = result.to_json()
    summary["probabilities"] = [round(float(p), 6) for p in result.probabilities]
    summary["channel_gates"] = {
        b.name: [round(float(g), 5) for g in b.channel_gate] for b in result.blocks if b.channel_gate is not None
    }
    return summary


def analyse_image(
    image: ImageSource | None, model: str | None, progress: ProgressFn | None = None
) -> tuple[Label, np.ndarray | None, dict[str, Any], ImageResult]:
    """Top-5, the focus block's spatial overlay (None without spatial attention), a summary, and the result.

    The result itself goes into the tab's ``gr.State`` (which the API leaves out), so every other view is
    drawn from it without the upload travelling back and without a second forward pass.
    """
    from visualiser.render import spatial

    result = image_result(image, model, progress=progress)
    block = default_block(result)
    picture = None
    if block is not None and result.block(block).spatial_gate is not None:
        picture = spatial.overlay(result, block, min_side=spatial.SCREEN_MIN_SIDE)
    return predictions_label(result.predictions), picture, result_summary(result), result


def outside_notice(result: ImageResult | ClipResult) -> str:
    """The notice for an input outside what an embedded network learned ("" when there is nothing to say).

    The pipeline decides it from the input's identity (``result.outside_notice``; see docs/MODEL_CARDS.md).
    """
    return result.outside_notice


def _notice(result: ImageResult, outside: str) -> str:
    """Everything the reader must know first: no class output (a user's detector), outside the training data."""
    return "\n\n".join(part for part in (result.note, outside) if part)


def image_arrival(model: str | None = None) -> tuple[
    str | None, str | None, Label | None, np.ndarray | None, dict[str, Any] | None, ImageResult | None
]:
    """The tab on arrival: the first shipped example through ``model`` (default: the app's), once per process."""
    from visualiser.ui.views.arrival import first_example, once

    model = model or catalogue.default_model("image")
    path = first_example("image", model)
    done = once(f"image:{model}", lambda: analyse_image(str(path), model)) if path is not None else None
    if done is None:
        return None, model, None, None, None, None
    return (str(path), model, *done)


def result_caption(result: ImageResult) -> str:
    """Which result the views show: the model and the input, as one line for every view's title."""
    height, width = result.original_image.shape[:2]
    source = f"{result.source} ({width}×{height})" if result.source else f"{width}×{height} image"
    return f"{result.model_title} · {source}"


@dataclass(frozen=True)
class ImageViews:
    """Everything the Image tab draws for one result."""

    result: ImageResult
    blocks: list[tuple[str, str]]
    block: str | None
    overview: np.ndarray
    barcode: np.ndarray | None
    chart: Figure | None
    grid: np.ndarray
    overlay: np.ndarray | None
    channel_internals: Figure | None
    spatial_internals: Figure | None
    reference: Figure | None
    has_spatial: bool
    timings: str = ""
    caption: str = ""
    notice: str = ""  # what the reader must know before reading the gates (input outside the model's data)
    offer_photo_model: bool = False


def image_views(
    result: ImageResult,
    sort: bool = True,
    alpha: float = 0.5,
    cmap: str = "viridis",
    normalise: str = "block",
) -> ImageViews:
    """All Image-tab views of one stored result, for its focus block (no network)."""
    from visualiser.render import channels, spatial
    from visualiser.render.eager import no_attention_image

    require(result, "analyse an image")
    block = default_block(result)
    if block is None:
        empty = no_attention_image(result)
        timings = timings_text(result.timings)
        outside = outside_notice(result)
        return ImageViews(
            result, [], None, empty, None, None, empty, None, None, None, None, False, timings,
            result_caption(result), _notice(result, outside), bool(outside),
        )  # fmt: skip
    chart, overlay_image, channel_side, spatial_side = block_views(result, block, sort, alpha, cmap, normalise)
    return ImageViews(
        result=result,
        blocks=block_choices(result),
        block=block,
        overview=channels.channel_overview(result),
        barcode=picture_or_message(lambda: channels.channel_barcode_image(result)),
        chart=chart,
        grid=spatial.spatial_grid(
            result, normalise=check_normalise(normalise), alpha=check_alpha(alpha), cmap=check_cmap(cmap)
        ),
        overlay=overlay_image,
        channel_internals=channel_side,
        spatial_internals=spatial_side,
        reference=reference_view(result),
        has_spatial=bool(result.spatial_blocks),
        timings=timings_text(result.timings),
        caption=result_caption(result),
        notice=_notice(result, outside := outside_notice(result)),
        offer_photo_model=bool(outside),
    )


def block_views(
    result: ImageResult,
    block: str,
    sort: bool = True,
    alpha: float = 0.5,
    cmap: str = "viridis",
    normalise: str = "block",
) -> tuple[Figure | None, np.ndarray | None, Figure | None, Figure | None]:
    """The selected block's channel chart, spatial overlay and internals (channel side, spatial side).

    The overlay and the spatial internals are None for blocks that gate channels only.
    """
    from visualiser.render import channels, spatial

    require(result, "analyse an image")
    chosen = result.block(block)
    chart = channels.channel_bars(chosen, sort=bool(sort)) if chosen.channel_gate is not None else None
    picture = None
    if chosen.spatial_gate is not None:
        a, c, n = check_alpha(alpha), check_cmap(cmap), check_normalise(normalise)
        picture = spatial.overlay(result, chosen.name, a, c, n, min_side=spatial.SCREEN_MIN_SIDE)
    channel_side, spatial_side = internals_views(chosen, result)
    return chart, picture, channel_side, spatial_side


def internals_views(block: BlockAttention, result: ImageResult | None = None) -> tuple[Figure | None, Figure | None]:
    """Inside one block: squeeze vs excitation (SE/ECA) or the two CAM branches, and the SAM steps.

    A block of a user's network shows what its module exposes; for the rest, a figure says which internals
    were not recorded and why (``FoundModule.unavailable``).
    """
    from visualiser.analysis.agreement import squeeze_gate_spearman
    from visualiser.render import internals
    from visualiser.render.figures import message_figure

    missing = _unavailable(block, result)
    channel_side = spatial_side = None
    if block.avg_logits is not None and block.max_logits is not None:
        channel_side = internals.cam_branches(block)
    elif block.squeeze is not None and block.channel_gate is not None:
        channel_side = internals.se_internals(block, squeeze_gate_spearman(block))
    elif block.channel_gate is not None and missing:
        channel_side = message_figure(missing)
    if block.spatial_gate is not None:
        needed = (block.mean_map, block.max_map, block.spatial_logits, block.spatial_kernel)
        if all(v is not None for v in needed):
            spatial_side = internals.sam_internals(block)
        elif missing:
            spatial_side = message_figure(missing)
    return channel_side, spatial_side


def _unavailable(block: BlockAttention, result: ImageResult | None) -> str:
    """Which internals a user's module does not expose, and why, in one sentence ("" for our own modules)."""
    found = next((m for m in (result.modules if result is not None else ()) if m.name == block.name), None)
    if found is None or not found.unavailable:
        return ""
    reasons = "; ".join(f"{field}: {why}" for field, why in found.unavailable)
    return f"Not recorded for {block.name} ({found.layout}): {reasons}."


def overlay_view(
    result: ImageResult, block: str, alpha: float = 0.5, cmap: str = "viridis", normalise: str = "block"
) -> tuple[np.ndarray | None, np.ndarray]:
    """The selected block's overlay and the whole spatial grid, redrawn from a stored result (no network)."""
    from visualiser.render import spatial

    require(result, "analyse an image")
    chosen = result.block(block)
    a, c, n = check_alpha(alpha), check_cmap(cmap), check_normalise(normalise)
    picture = None
    if chosen.spatial_gate is not None:
        picture = spatial.overlay(result, chosen.name, a, c, n, min_side=spatial.SCREEN_MIN_SIDE)
    return picture, spatial.spatial_grid(result, normalise=n, alpha=a, cmap=c)


def reference_view(result: ImageResult) -> Figure | None:
    """The SE-paper Fig. 6 view for this input, or None when the model has no statistics on this machine."""
    from visualiser.reference_stats import load_reference_stats
    from visualiser.render import reference

    path = catalogue.reference_stats_path(result.model)
    if path is None or not any(b.channel_gate is not None for b in result.blocks):
        return None
    return reference.reference_figure(result, load_reference_stats(path))


def gradcam_view(result: ImageResult, block: str, alpha: float = 0.5, cmap: str = "viridis") -> tuple[np.ndarray, str]:
    """Grad-CAM of the top-1 class beside the block's spatial gate, with their agreement (lazy: runs backward)."""
    from visualiser.analysis.agreement import map_agreement
    from visualiser.render import spatial

    require(result, "analyse an image")
    chosen = result.block(block)
    with_cam = image_result(result.original_image, result.model, gradcam=True)
    if chosen.spatial_gate is None:
        spatial_blocks = with_cam.spatial_blocks
        if not spatial_blocks:
            picture = spatial.gradcam_alone(with_cam, check_alpha(alpha), check_cmap(cmap))
            return picture, (
                f"{result.model_title} has no spatial attention, so there is nothing to compare Grad-CAM with; "
                "shown alone."
            )
        chosen = spatial_blocks[-1]
    scores = map_agreement(with_cam.gradcam, with_cam.block(chosen.name).spatial_gate)
    picture = spatial.gradcam_vs_attention(with_cam, chosen.name, scores, check_alpha(alpha), check_cmap(cmap))
    return picture, agreement_text(chosen.label, scores.to_json())


def agreement_text(block_label: str, scores: dict[str, Any]) -> str:
    """One markdown line stating the agreement scores in words."""
    rho = scores.get("spearman")
    iou = scores.get("iou_top")
    fraction = scores.get("top_fraction", 0.2)
    rho_text = "undefined (one map is constant)" if rho is None else f"{rho:.2f}"
    iou_text = "n/a" if iou is None else f"{iou:.2f}"
    return (
        f"**Agreement of Grad-CAM and {block_label}:** Spearman rank correlation {rho_text}; "
        f"overlap (IoU) of their top {round(100 * fraction)}% regions {iou_text}. "
        "1 means the same ranking / region; 0 means unrelated."
    )


def intervention_view(result: ImageResult, block: str, mode: str, mute_top: int = 5) -> tuple[Label, Label, str]:
    """Top-5 before and after forcing one block's gates: two real forward passes."""
    from visualiser import pipeline

    require(result, "analyse an image")
    chosen = result.block(block)
    if mode not in ("identity", "mute"):
        raise InputError(f"intervention must be 'identity' or 'mute', not {mode!r}")
    k = int(mute_top)
    if mode == "mute" and not 1 <= k <= max(1, chosen.channels):
        raise InputError(f"channels to mute must be between 1 and {chosen.channels}, not {k}")
    out = pipeline.intervene(
        result.original_image, chosen.name, mode=mode, mute_top=k if mode == "mute" else 0, model=result.model
    )
    before, after = out.before[0], out.after[0]
    p_after_same = float(out.probabilities_after[before.index])
    verdict = "unchanged" if before.index == after.index else f"changed to **{after.label}**"
    text = (
        f"{out.description}. Top-1 {verdict}; P({before.label}) went from {before.probability:.1%} "
        f"to {p_after_same:.1%}."
    )
    return predictions_label(out.before), predictions_label(out.after), text


BUNDLE_ALL_BLOCKS_UP_TO = 8  # beyond this, per-block figures only for the deepest spatial block (~1 s per block)


def bundle_view(
    result: ImageResult, alpha: float = 0.5, cmap: str = "viridis", normalise: str = "block", sort: bool = True
) -> Path:
    """A zip of every figure (drawn with the options on screen), the arrays (NPZ), the summary and a manifest."""
    from visualiser.analysis.agreement import image_agreement
    from visualiser.analysis.stability import stability_scores
    from visualiser.reference_stats import load_reference_stats
    from visualiser.render import bundle

    require(result, "analyse an image or a clip")
    blocks = getattr(result, "blocks", ())
    options = bundle.BundleOptions(
        alpha=check_alpha(alpha),
        cmap=check_cmap(cmap),
        normalise=check_normalise(normalise),
        sort_channels=bool(sort),
        per_block=len(blocks) <= BUNDLE_ALL_BLOCKS_UP_TO,
    )
    stats_path = catalogue.reference_stats_path(result.model) if hasattr(result, "gradcam") else None
    stats = load_reference_stats(stats_path) if stats_path is not None else None
    directory = new_output_path(f"{result.model}-bundle", "")
    if hasattr(result, "gradcam"):
        return Path(bundle.write_bundle(result, directory, options, stats, agreement=image_agreement(result)))
    return Path(bundle.write_bundle(result, directory, options, stats, stability=stability_scores(result)))
