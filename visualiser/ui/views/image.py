"""Image tab: analyse, then every view drawn from the stored result, one function per view, in the reader's language.

Each view function takes the frozen result (and the display options) and returns a ``Shown``: the picture or
figure, or, when this model cannot fill the view, no picture and the sentence that says why. Grad-CAM,
interventions and the bundle run only when their button is pressed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visualiser import catalogue
from visualiser.errors import InputError
from visualiser.models.defaults import SPACE_IMAGE_MODEL
from visualiser.models.registry import get_spec
from visualiser.result import ClipResult
from visualiser.types import ImageSource, ProgressFn
from visualiser.ui.views.arrival import first_example, once
from visualiser.ui.views.cache import IMAGE_RESULTS, content_key, model_key
from visualiser.ui.views.fallback import picture_or_message
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.heavy import bundle, channels, internals, pipeline, reference, spatial, uploads
from visualiser.ui.views.options import check_alpha, check_cmap, check_normalise, require
from visualiser.ui.views.phrases import language, percent, say
from visualiser.ui.views.text import Label, markdown_text, predictions_label, shown_title, timings_text

if TYPE_CHECKING:
    from visualiser.result import BlockAttention, ImageResult


@dataclass(frozen=True)
class Shown:
    """What one view slot shows: ``value`` (a picture or a figure), or ``None`` and ``note`` saying why not."""

    value: Any = None
    note: str = ""

    @property
    def drawn(self) -> bool:
        return self.value is not None


def image_result(
    image: ImageSource | None, model: str | None, gradcam: bool = False, progress: ProgressFn | None = None
) -> ImageResult:
    """The analysis of ``image`` by ``model``, from the cache when this exact input was seen.

    A model used for the first time is loaded first, so a weights download reports to ``progress``.
    """

    require(image, "upload an image or pick an example")
    name = model or catalogue.default_model("image")
    if name is not None:
        pipeline.get_model(name, progress=progress)
    key = (content_key(image), *model_key(name))
    if not gradcam:
        with_cam = IMAGE_RESULTS.get((*key, True))  # a Grad-CAM result answers a plain request too
        if with_cam is not None:
            return with_cam
    return IMAGE_RESULTS.get_or_make(
        (*key, gradcam),
        lambda: pipeline.analyse_image(image, model=name, top_k=5, gradcam=gradcam, sha1=_file_digest(image, key[0])),
    )


def gradcam_result(result: ImageResult) -> ImageResult:
    """``result`` with its Grad-CAM (``pipeline.with_gradcam``: the same pixels through the same network, the file's
    name and SHA-1 kept), from the cache when it was computed before."""

    if result.gradcam is not None:
        return result
    key = (content_key(result.original_image), *model_key(result.model), True)
    return IMAGE_RESULTS.get_or_make(key, lambda: pipeline.with_gradcam(result))


def _file_digest(source: object, key: str) -> str | None:
    """The cache key is the file's SHA-1 for a file or bytes (the pipeline need not hash it again); None for pixels."""
    return None if isinstance(source, np.ndarray) else key


def default_block(result: ImageResult) -> str | None:
    """The block shown first (``ImageResult.focus_block``); None for a model without attention."""
    block = result.focus_block
    return None if block is None else block.name


def block_choices(result: ImageResult) -> list[tuple[str, str]]:
    """Dropdown entries ``(label, name)`` for every attention block (block names are never i18n keys)."""
    return [(f"{b.label} · {b.name}", b.name) for b in result.blocks]


def chosen_block(result: ImageResult, block: str | None) -> str | None:
    """``block`` if this result has it, else the focus block (a stale dropdown value never reaches a view)."""
    names = {b.name for b in result.blocks}
    return block if block in names else default_block(result)


def result_summary(result: ImageResult) -> dict[str, Any]:
    """The JSON an API caller gets: the result's summary plus every probability and channel gate."""
    summary = result.to_json()
    summary["probabilities"] = [round(float(p), 6) for p in result.probabilities]
    summary["channel_gates"] = {
        b.name: [round(float(g), 5) for g in b.channel_gate] for b in result.blocks if b.channel_gate is not None
    }
    return summary


def analysed_image(
    image: ImageSource | None, model: str | None, progress: ProgressFn | None = None, owner: str | None = None
) -> ImageResult:
    """``image_result`` for a caller: ``owner`` (the caller's session) may use its own uploaded networks and no
    one else's (checked before anything runs)."""

    uploads.check_access(model, owner)
    return image_result(image, model, progress=progress)


def analyse_image(
    image: ImageSource | None, model: str | None, progress: ProgressFn | None = None, owner: str | None = None
) -> tuple[Label, np.ndarray | None, dict[str, Any], ImageResult]:
    """What ``/analyse_image`` returns: top-5, the focus block's spatial overlay (None without spatial attention),
    a summary, and the result (for ``gr.State``, which the API leaves out). The page's Analyse button does not
    call this: it draws the overlay with the options on screen among every other view (``image_views``)."""

    result = analysed_image(image, model, progress, owner)
    block = default_block(result)
    picture = None
    if block is not None and result.block(block).spatial_gate is not None:
        picture = spatial.overlay(result, block, min_side=spatial.SCREEN_MIN_SIDE)
    return predictions_label(result.predictions), picture, result_summary(result), result


# ---- what the reader must know first ------------------------------------------------------------------------------


def outside_notice(result: ImageResult | ClipResult, lang: str = "en") -> str:
    """The notice for an input outside what an embedded network learned ("" when there is nothing to say).

    The pipeline decides it from the input's identity (``result.outside_notice``: every input to an embedded network
    that is not one of its shipped generated examples; see docs/MODEL_CARDS.md); this says it in the reader's
    language.
    """
    if not result.outside_notice:
        return ""

    spec = get_spec(result.model)
    domain = catalogue.translated_domain(spec.domain, lang) if spec.domain else say(lang, "its_training_data")
    return say(lang, "outside", model=shown_title(result), domain=domain, why=say(lang, "outside_why"))


@dataclass(frozen=True)
class Notice:
    """Above the views: the notice text, the photo model the switch leads to (None: no switch), or what it needs."""

    text: str = ""
    switch_to: str | None = None


def notice_view(result: ImageResult | ClipResult, lang: str = "en") -> Notice:
    """What the reader must know before the gates (no class output; outside the training data), and the switch
    to a photo model with attention, offered only where one can run here (else the notice says what it needs)."""
    parts = []
    if result.note:
        parts.append(result.note if language(lang) == "en" else say(lang, "no_class_output", note=result.note))
    outside = outside_notice(result, lang)
    switch_to = None
    if outside:
        parts.append(outside)
        photo = catalogue.photo_model()
        if photo is not None and photo != result.model:
            switch_to = photo
        elif photo is None:
            key = "clip_switch_needs" if isinstance(result, ClipResult) else "switch_needs"
            parts.append(say(lang, key, model=SPACE_IMAGE_MODEL))
    return Notice("\n\n".join(parts), switch_to)


def result_caption(result: ImageResult, lang: str = "en") -> str:
    """Which result the views show: the model and the input, as one line."""
    height, width = result.original_image.shape[:2]
    if result.source:
        return say(
            lang,
            "caption_image",
            model=shown_title(result),
            source=markdown_text(result.source),
            width=width,
            height=height,
        )
    return say(lang, "caption_pixels", model=shown_title(result), width=width, height=height)


def image_arrival(
    model: str | None = None,
) -> tuple[str | None, str | None, Label | None, np.ndarray | None, dict[str, Any] | None, ImageResult | None]:
    """The tab on arrival: the first shipped example through ``model`` (default: the app's), once per process."""

    model = model or catalogue.default_model("image")
    path = first_example("image", model)
    key = ("image", *model_key(model))  # a name registered again is another network
    done = once(key, lambda: analyse_image(str(path), model)) if path is not None else None
    if done is None:
        return None, model, None, None, None, None
    return (str(path), model, *done)


# ---- one function per view ----------------------------------------------------------------------------------------


def has_channel_gates(result: ImageResult) -> bool:
    return any(b.channel_gate is not None for b in result.blocks)


def overview_view(result: ImageResult, lang: str = "en") -> Shown:
    """Every block's channel gates as small multiples (or why there are none)."""

    if not result.blocks:
        return Shown(note=say(lang, "no_attention", model=shown_title(result)))
    if not has_channel_gates(result):
        return Shown(note=say(lang, "no_channel_gates", model=shown_title(result)))
    return Shown(channels.channel_overview(result, lang=lang))


def barcode_view(result: ImageResult, lang: str = "en") -> Shown:
    """The block × channel barcode (or why there is none)."""

    if not has_channel_gates(result):
        return Shown(note=say(lang, "no_barcode", model=shown_title(result)))
    return Shown(picture_or_message(lambda: channels.channel_barcode_image(result, lang=lang)))


def chart_view(result: ImageResult, block: str | None, sort: bool = True, lang: str = "en") -> Shown:
    """The selected block's channel gates as bars (a picture: ``channels.channel_bars`` drawn on a kept frame)."""

    name = chosen_block(result, block)
    if name is None:
        return Shown(note=say(lang, "no_attention", model=shown_title(result)))
    chosen = result.block(name)
    if chosen.channel_gate is None:
        return Shown(note=say(lang, "no_channel_side", block=chosen.label))
    return Shown(channels.channel_bars_picture(chosen, sort=bool(sort), lang=lang))


def spatial_note(result: ImageResult, lang: str = "en") -> str:
    """Why the spatial section is empty ("" when the model has spatial gates)."""

    if result.spatial_blocks:
        return ""
    if not result.blocks:
        return say(lang, "no_attention", model=shown_title(result))
    return say(lang, "no_spatial", model=shown_title(result), kinds=spatial.blocks_kinds(result).upper())


def overlay_panel(
    result: ImageResult,
    block: str | None,
    alpha: float = 0.5,
    cmap: str = "viridis",
    normalise: str = "block",
    lang: str = "en",
) -> Shown:
    """The selected block's spatial gate on the input; a channel-only block shows the deepest spatial one."""

    if not result.spatial_blocks:
        return Shown(note=spatial_note(result, lang))
    name = chosen_block(result, block)
    chosen = result.block(name)
    if chosen.spatial_gate is None:
        chosen = result.spatial_blocks[-1]
    a, c, n = check_alpha(alpha), check_cmap(cmap), check_normalise(normalise)
    return Shown(spatial.overlay(result, chosen.name, a, c, n, min_side=spatial.SCREEN_MIN_SIDE, lang=lang))


def grid_view(
    result: ImageResult, alpha: float = 0.5, cmap: str = "viridis", normalise: str = "block", lang: str = "en"
) -> Shown:
    """Every spatial gate on the input, in a grid about as wide as it is tall (it sits beside the overlay)."""

    if not result.spatial_blocks:
        return Shown(note=spatial_note(result, lang))
    a, c, n = check_alpha(alpha), check_cmap(cmap), check_normalise(normalise)
    return Shown(spatial.spatial_grid(result, normalise=n, alpha=a, cmap=c, columns=None, lang=lang))


def internals_views(block: BlockAttention, result: ImageResult | None = None, lang: str = "en") -> tuple[Shown, Shown]:
    """Inside one block: squeeze vs excitation (SE/ECA) or the two CAM branches, and the SAM steps.

    A block of a user's network shows what its module exposes; for the rest, the note says which internals
    were not recorded and why (``FoundModule.unavailable``); an SE block's spatial side says it has none.
    """

    missing = _unavailable(block, result, lang)
    if block.avg_logits is not None and block.max_logits is not None:
        channel_side = Shown(internals.cam_branches(block, lang=lang))
    elif block.squeeze is not None and block.channel_gate is not None:
        rho = pipeline.block_squeeze_gate(block)
        channel_side = Shown(internals.se_internals(block, rho, lang=lang))
    else:
        channel_side = Shown(note=missing or say(lang, "no_channel_side", block=block.label))
    if block.spatial_gate is None:
        kind = block.kind.upper()
        spatial_side = Shown(note=say(lang, "no_spatial_side", block=block.label, kind=kind))
    elif all(v is not None for v in (block.mean_map, block.max_map, block.spatial_logits, block.spatial_kernel)):
        spatial_side = Shown(internals.sam_internals(block, lang=lang))
    else:
        spatial_side = Shown(note=missing or say(lang, "no_spatial_side", block=block.label, kind=block.kind))
    return channel_side, spatial_side


def block_internals(result: ImageResult, block: str | None, lang: str = "en") -> tuple[Shown, Shown]:
    """``internals_views`` of the selected block, or the sentence for a model without attention."""
    name = chosen_block(result, block)
    if name is None:
        note = say(lang, "no_internals", model=shown_title(result))
        return Shown(note=note), Shown(note=note)
    return internals_views(result.block(name), result, lang)


def _unavailable(block: BlockAttention, result: ImageResult | None, lang: str = "en") -> str:
    """Which internals a user's module does not expose, and why, in one sentence ("" for our own modules)."""
    found = next((m for m in (result.modules if result is not None else ()) if m.name == block.name), None)
    if found is None or not found.unavailable:
        return ""
    reasons = "; ".join(f"{what}: {why}" for what, why in found.unavailable)
    return say(lang, "unavailable_internals", block=block.name, layout=found.layout, reasons=reasons)


def reference_view(result: ImageResult, lang: str = "en") -> Shown:
    """The SE-paper Fig. 6 view for this input, or why there is none (no statistics on this machine)."""

    stats = pipeline.reference_stats(result.model) if has_channel_gates(result) else None
    if stats is None:
        return Shown(note=say(lang, "no_reference", model=shown_title(result), name=result.model))
    return Shown(reference.reference_figure(result, stats, lang=lang))


def mute_limit(result: ImageResult, block: str | None) -> int:
    """How many channels the selected block has (what "channels to mute" may go up to); 0 without a block."""
    name = chosen_block(result, block)
    return result.block(name).channels if name is not None else 0


# ---- the whole set, for one result ---------------------------------------------------------------------------------

# The views that sit in a closed fold until the reader opens it: drawn then (``fold_views``), not with the rest.
FOLDS = ("barcode", "internals", "reference")


@dataclass(frozen=True)
class ImageViews:
    """Everything the Image tab draws for one result (each view a ``Shown``)."""

    result: ImageResult
    blocks: list[tuple[str, str]]
    block: str | None
    overview: Shown
    barcode: Shown
    chart: Shown
    overlay: Shown
    grid: Shown
    channel_internals: Shown
    spatial_internals: Shown
    reference: Shown
    spatial_note: str
    mute_limit: int
    notice: Notice = field(default_factory=Notice)
    timings: str = ""
    caption: str = ""

    @property
    def has_spatial(self) -> bool:
        return bool(self.result.spatial_blocks)


def image_views(
    result: ImageResult,
    sort: bool = True,
    alpha: float = 0.5,
    cmap: str = "viridis",
    normalise: str = "block",
    lang: str = "en",
    block: str | None = None,
    folds: Collection[str] = FOLDS,
) -> ImageViews:
    """All Image-tab views of one stored result, for ``block`` (default: the focus block); no network.

    Only the folds named in ``folds`` (the ones open on the page) are drawn; a view in a closed fold is an
    empty ``Shown`` (nothing drawn, nothing said) until ``fold_views`` draws it when the fold opens.
    """
    require(result, "analyse an image")
    name = chosen_block(result, block)
    internals = block_internals(result, name, lang) if "internals" in folds else (Shown(), Shown())
    return ImageViews(
        result=result,
        blocks=block_choices(result),
        block=name,
        overview=overview_view(result, lang),
        barcode=barcode_view(result, lang) if "barcode" in folds else Shown(),
        chart=chart_view(result, name, sort, lang),
        overlay=overlay_panel(result, name, alpha, cmap, normalise, lang),
        grid=grid_view(result, alpha, cmap, normalise, lang),
        channel_internals=internals[0],
        spatial_internals=internals[1],
        reference=reference_view(result, lang) if "reference" in folds else Shown(),
        spatial_note=spatial_note(result, lang),
        mute_limit=mute_limit(result, name),
        notice=notice_view(result, lang),
        timings=timings_text(result.timings, lang),
        caption=result_caption(result, lang),
    )


def fold_views(result: ImageResult, fold: str, block: str | None = None, lang: str = "en") -> tuple[Shown, ...]:
    """The views of one fold (``FOLDS``), drawn when the reader opens it: the barcode; the selected block's
    internals (channel side, spatial side); the class reference."""
    require(result, "analyse an image")
    if fold == "barcode":
        return (barcode_view(result, lang),)
    if fold == "internals":
        return block_internals(result, block, lang)
    if fold == "reference":
        return (reference_view(result, lang),)
    raise InputError(f"no fold named {fold!r}; folds: {', '.join(FOLDS)}")


def block_views(
    result: ImageResult,
    block: str,
    sort: bool = True,
    alpha: float = 0.5,
    cmap: str = "viridis",
    normalise: str = "block",
    lang: str = "en",
    folds: Collection[str] = FOLDS,
) -> tuple[Shown, Shown, Shown, Shown]:
    """The selected block's channel chart, spatial overlay and internals (channel side, spatial side; drawn
    only when the internals fold is in ``folds``, else empty)."""
    require(result, "analyse an image")
    result.block(block)  # an unknown name is refused with the list of blocks
    channel_side, spatial_side = block_internals(result, block, lang) if "internals" in folds else (Shown(), Shown())
    return (
        chart_view(result, block, sort, lang),
        overlay_panel(result, block, alpha, cmap, normalise, lang),
        channel_side,
        spatial_side,
    )


def overlay_view(
    result: ImageResult,
    block: str | None,
    alpha: float = 0.5,
    cmap: str = "viridis",
    normalise: str = "block",
    lang: str = "en",
) -> tuple[Shown, Shown]:
    """The selected block's overlay and the whole spatial grid, redrawn from a stored result (no network)."""
    require(result, "analyse an image")
    return overlay_panel(result, block, alpha, cmap, normalise, lang), grid_view(result, alpha, cmap, normalise, lang)


# ---- on request: Grad-CAM, interventions, the bundle ---------------------------------------------------------------


def gradcam_view(
    result: ImageResult, block: str | None = None, alpha: float = 0.5, cmap: str = "viridis", lang: str = "en"
) -> tuple[np.ndarray, str]:
    """Grad-CAM of the top-1 class beside the block's spatial gate with their agreement; alone (with its colour bar
    and class) for a model without spatial attention, the plain baseline included. Runs a backward pass."""

    require(result, "analyse an image")
    with_cam = gradcam_result(result)
    a, c = check_alpha(alpha), check_cmap(cmap)
    if not with_cam.spatial_blocks:
        picture = spatial.gradcam_alone(with_cam, a, c, min_side=spatial.SCREEN_MIN_SIDE, lang=lang)
        label = next((p.label for p in with_cam.predictions if p.index == with_cam.gradcam_class), "?")
        return picture, say(lang, "gradcam_alone", model=shown_title(result), label=label)
    name = chosen_block(with_cam, block)
    chosen = with_cam.block(name) if name is not None else with_cam.spatial_blocks[-1]
    if chosen.spatial_gate is None:
        chosen = with_cam.spatial_blocks[-1]
    scores = pipeline.result_scores(with_cam).agreement.gradcam[chosen.name]
    picture = spatial.gradcam_vs_attention(with_cam, chosen.name, scores, a, c, lang=lang)
    return picture, agreement_text(chosen.label, scores.to_json(), lang)


def agreement_text(block_label: str, scores: dict[str, Any], lang: str = "en") -> str:
    """One markdown line stating the agreement scores in words."""
    rho = scores.get("spearman")
    iou = scores.get("iou_top")
    fraction = scores.get("top_fraction", 0.2)
    rho_text = say(lang, "undefined_constant") if rho is None else f"{rho:.2f}"
    iou_text = say(lang, "not_available") if iou is None else f"{iou:.2f}"
    return say(lang, "agreement", block=block_label, rho=rho_text, top=round(100 * fraction), iou=iou_text)


def intervention_view(
    result: ImageResult, block: str | None, mode: str, mute_top: int = 5, lang: str = "en"
) -> tuple[Label, Label, str]:
    """Top-5 before and after forcing one block's gates: two real forward passes."""

    require(result, "analyse an image")
    name = chosen_block(result, block)
    if name is None:
        raise InputError(f"{result.model_title} has no attention block to intervene on")
    chosen = result.block(name)
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
    if language(lang) == "en":
        what = out.description
    else:
        what = say(lang, "iv_identity" if mode == "identity" else "iv_mute", block=chosen.label, k=k)
    verdict = say(lang, "iv_unchanged") if before.index == after.index else say(lang, "iv_changed", label=after.label)
    text = say(
        lang, "iv_result", what=what, verdict=verdict, label=before.label, before=percent(before.probability),
        after=percent(p_after_same),
    )  # fmt: skip
    return predictions_label(out.before), predictions_label(out.after), text


BUNDLE_ALL_BLOCKS_UP_TO = 8  # beyond this, per-block figures only for the deepest spatial block (~1 s per block)


def bundle_view(
    result: ImageResult, alpha: float = 0.5, cmap: str = "viridis", normalise: str = "block", sort: bool = True
) -> Path:
    """A zip of every figure (drawn with the options on screen), the arrays (NPZ), the summary and a manifest."""

    require(result, "analyse an image or a clip")
    blocks = getattr(result, "blocks", ())
    options = bundle.BundleOptions(
        alpha=check_alpha(alpha),
        cmap=check_cmap(cmap),
        normalise=check_normalise(normalise),
        sort_channels=bool(sort),
        per_block=len(blocks) <= BUNDLE_ALL_BLOCKS_UP_TO,
    )
    scores = pipeline.result_scores(result)
    directory = new_output_path(f"{result.model}-bundle", "")
    if hasattr(result, "gradcam"):
        return Path(bundle.write_bundle(result, directory, options, scores.reference, agreement=scores.agreement))
    return Path(bundle.write_bundle(result, directory, options, stability=scores.stability))
