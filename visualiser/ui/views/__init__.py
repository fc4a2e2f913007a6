"""What the app's controls do, as plain Python: call the pipeline and the renderers, return plain values.

No Gradio here (the tabs in ``visualiser.ui.tabs`` wire these to components), so every view can be called
and tested as an ordinary function. Failures a user can fix stay ``VisualiserError``; the UI's error
boundary turns them into messages (``errors.user_message``). Every sentence is written in the reader's
language (``phrases``); a view this result cannot fill comes back as a ``Shown`` without a picture and with
the sentence that says why. The heavy modules (torch, the pipeline, the renderers) are reached through one
lazy boundary, ``heavy``, imported on first use, which keeps the app's start-up fast. One module per tab;
``cache``, ``files``, ``options``, ``text`` and ``fallback`` hold what they share. Only what the tabs, the
shell and the tests use from outside is re-exported here.
"""

from visualiser.ui.views.cache import clear_caches
from visualiser.ui.views.clip import (
    ClipViews,
    analyse_clip,
    analysed_clip,
    clip_arrival,
    clip_frame_view,
    clip_summary,
    clip_time_view,
    clip_views,
    frames_control,
    video_view,
    video_view_soon,
)
from visualiser.ui.views.compare import CompareColumn, compare_arrival, compare_column, compare_models, compare_names
from visualiser.ui.views.conv3d import (
    conv3d_animation,
    conv3d_arrival,
    conv3d_outputs,
    conv3d_plan,
    conv3d_step,
    conv3d_texts,
    kernel_facts,
    plan_caption,
)
from visualiser.ui.views.errors import UserMessage, user_message
from visualiser.ui.views.files import png_files, write_png
from visualiser.ui.views.image import (
    FOLDS,
    ImageViews,
    Shown,
    analyse_image,
    analysed_image,
    block_views,
    bundle_view,
    chart_view,
    fold_views,
    gradcam_view,
    image_arrival,
    image_result,
    image_views,
    intervention_view,
    mute_limit,
    overlay_view,
    reference_view,
    result_summary,
)
from visualiser.ui.views.learn import learn_sections
from visualiser.ui.views.options import COLORMAPS
from visualiser.ui.views.phrases import language, say
from visualiser.ui.views.text import model_domain, model_title, predictions_label
from visualiser.ui.views.uploads import forget_uploads, load_checkpoint
from visualiser.ui.views.warmup import warm_up

__all__ = [
    "COLORMAPS",
    "FOLDS",
    "ClipViews",
    "CompareColumn",
    "ImageViews",
    "Shown",
    "UserMessage",
    "analyse_clip",
    "analyse_image",
    "analysed_clip",
    "analysed_image",
    "block_views",
    "bundle_view",
    "chart_view",
    "clear_caches",
    "clip_arrival",
    "clip_frame_view",
    "clip_summary",
    "clip_time_view",
    "clip_views",
    "compare_arrival",
    "compare_column",
    "compare_models",
    "compare_names",
    "conv3d_animation",
    "conv3d_arrival",
    "conv3d_outputs",
    "conv3d_plan",
    "conv3d_step",
    "conv3d_texts",
    "fold_views",
    "forget_uploads",
    "frames_control",
    "gradcam_view",
    "image_arrival",
    "image_result",
    "image_views",
    "intervention_view",
    "kernel_facts",
    "language",
    "learn_sections",
    "load_checkpoint",
    "model_domain",
    "model_title",
    "mute_limit",
    "overlay_view",
    "plan_caption",
    "png_files",
    "predictions_label",
    "reference_view",
    "result_summary",
    "say",
    "user_message",
    "video_view",
    "video_view_soon",
    "warm_up",
    "write_png",
]
