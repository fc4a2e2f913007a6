"""What the app's controls do, as plain Python: call the pipeline and the renderers, return plain values.

No Gradio here (the tabs in ``visualiser.ui.tabs`` wire these to components), so every view can be called
and tested as an ordinary function. Failures a user can fix stay ``VisualiserError``; the UI's error
boundary turns them into messages. Heavy modules (torch, the renderers) are imported on first use, which
keeps the app's start-up fast. One module per tab; ``cache``, ``files``, ``options``, ``text`` and
``fallback`` hold what they share.
"""

from visualiser.ui.views.cache import clear_caches, content_key
from visualiser.ui.views.clip import (
    ClipViews,
    analyse_clip,
    clip_arrival,
    clip_blocks,
    clip_caption,
    clip_frame_view,
    clip_result,
    clip_time_view,
    clip_views,
)
from visualiser.ui.views.compare import CompareColumn, compare_arrival, compare_models
from visualiser.ui.views.conv3d import (
    conv3d_animation,
    conv3d_arrival,
    conv3d_outputs,
    conv3d_plan,
    conv3d_step,
    plan_caption,
)
from visualiser.ui.views.files import new_output_path, output_dir, png_files, write_png
from visualiser.ui.views.image import (
    ImageViews,
    agreement_text,
    analyse_image,
    block_choices,
    block_views,
    bundle_view,
    default_block,
    gradcam_view,
    image_arrival,
    image_result,
    image_views,
    internals_views,
    intervention_view,
    outside_notice,
    overlay_view,
    reference_view,
    result_caption,
    result_summary,
)
from visualiser.ui.views.learn import LANGUAGES, learn_sections
from visualiser.ui.views.options import COLORMAPS, NORMALISATIONS
from visualiser.ui.views.text import model_domain, model_title, predictions_label
from visualiser.ui.views.uploads import LoadedCheckpoint, load_checkpoint
from visualiser.ui.views.warmup import warm_up

__all__ = [
    "COLORMAPS",
    "LANGUAGES",
    "NORMALISATIONS",
    "ClipViews",
    "CompareColumn",
    "ImageViews",
    "LoadedCheckpoint",
    "agreement_text",
    "analyse_clip",
    "analyse_image",
    "block_choices",
    "block_views",
    "bundle_view",
    "clear_caches",
    "clip_arrival",
    "clip_blocks",
    "clip_caption",
    "clip_frame_view",
    "clip_result",
    "clip_time_view",
    "clip_views",
    "compare_arrival",
    "compare_models",
    "content_key",
    "conv3d_animation",
    "conv3d_arrival",
    "conv3d_outputs",
    "conv3d_plan",
    "conv3d_step",
    "default_block",
    "gradcam_view",
    "image_arrival",
    "image_result",
    "image_views",
    "internals_views",
    "intervention_view",
    "learn_sections",
    "load_checkpoint",
    "model_domain",
    "model_title",
    "new_output_path",
    "output_dir",
    "outside_notice",
    "overlay_view",
    "plan_caption",
    "png_files",
    "predictions_label",
    "reference_view",
    "result_caption",
    "result_summary",
    "warm_up",
    "write_png",
]
