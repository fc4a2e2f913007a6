"""What the app's buttons do, as plain Python: call the pipeline and the renderers, return plain values.

No Gradio here, so every handler can be called and tested as an ordinary function. Failures a user can
fix stay ``VisualiserError``; the UI's error boundary turns them into messages.

Results are kept in small per-process caches keyed by the input's content and the settings, so the
second stage of an event chain (charts after predictions), a cached example or a re-render never runs the
network again for the same input. Heavy modules (torch, the renderers) are imported on first use, which
keeps the app's start-up fast. One module per tab; ``common`` holds what they share.
"""

from visualiser.handlers.clip import (
    ClipViews,
    analyse_clip,
    clip_blocks,
    clip_frame_view,
    clip_result,
    clip_time_view,
    clip_views,
)
from visualiser.handlers.common import (
    COLORMAPS,
    NORMALISATIONS,
    clear_caches,
    clip_model_choices,
    content_key,
    default_model,
    is_embedded,
    model_choices,
    new_output_path,
    output_dir,
    png_files,
    predictions_label,
    warm_up,
    write_png,
)
from visualiser.handlers.compare import CompareColumn, compare_models, compare_sets
from visualiser.handlers.conv3d import Conv3dSettings, conv3d_animation, conv3d_plan, conv3d_step, kernel_choices
from visualiser.handlers.image import (
    ImageViews,
    agreement_text,
    analyse_image,
    block_choices,
    block_views,
    bundle_view,
    default_block,
    gradcam_view,
    image_result,
    image_views,
    internals_views,
    intervention_view,
    overlay_view,
    reference_stats_path,
    reference_view,
    result_summary,
)
from visualiser.handlers.learn import LANGUAGES, learn_sections

__all__ = [
    "COLORMAPS",
    "LANGUAGES",
    "NORMALISATIONS",
    "ClipViews",
    "CompareColumn",
    "Conv3dSettings",
    "ImageViews",
    "agreement_text",
    "analyse_clip",
    "analyse_image",
    "block_choices",
    "block_views",
    "bundle_view",
    "clear_caches",
    "clip_blocks",
    "clip_frame_view",
    "clip_model_choices",
    "clip_result",
    "clip_time_view",
    "clip_views",
    "compare_models",
    "compare_sets",
    "content_key",
    "conv3d_animation",
    "conv3d_plan",
    "conv3d_step",
    "default_block",
    "default_model",
    "gradcam_view",
    "image_result",
    "image_views",
    "internals_views",
    "intervention_view",
    "is_embedded",
    "kernel_choices",
    "learn_sections",
    "model_choices",
    "new_output_path",
    "output_dir",
    "overlay_view",
    "png_files",
    "predictions_label",
    "reference_stats_path",
    "reference_view",
    "result_summary",
    "warm_up",
    "write_png",
]
