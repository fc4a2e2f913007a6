"""The one orchestrator: decode → preprocess → cached model + capture → frozen result.

Both the Gradio UI and the CLI call these functions; neither touches a model directly.

* ``models``: the per-process model cache (``get_model``, ``LoadedModel``);
* ``foreign``: any ``torch.nn.Module`` as a model (``foreign_model``, ``register_module``);
* ``image``: ``analyse_image`` (and ``analyse_frames`` for image models on clips, ``with_gradcam``);
* ``clip``: ``analyse_clip``;
* ``scores``: what a result's figures print beside it (``result_scores``, ``reference_stats``,
  ``block_squeeze_gate``);
* ``intervene``: predictions before / after forcing a block's gates;
* ``conv3d``: the 3D-convolution animation's plan.
"""

from visualiser.pipeline.clip import analyse_clip, analyse_decoded_clip
from visualiser.pipeline.foreign import foreign_model, prepare_image, register_module, resolve_model, unregister_module
from visualiser.pipeline.image import FRAME_BATCH, analyse_frames, analyse_image, analyse_pixels, with_gradcam
from visualiser.pipeline.intervene import intervene
from visualiser.pipeline.models import LoadedModel, check_task, forget_models, get_model, loaded_model_names
from visualiser.pipeline.scores import (
    ResultScores,
    block_squeeze_gate,
    reference_stats,
    result_scores,
    user_stats_path,
)

__all__ = [
    "FRAME_BATCH",
    "LoadedModel",
    "ResultScores",
    "analyse_clip",
    "analyse_decoded_clip",
    "analyse_frames",
    "analyse_image",
    "analyse_pixels",
    "block_squeeze_gate",
    "check_task",
    "foreign_model",
    "forget_models",
    "get_model",
    "intervene",
    "loaded_model_names",
    "prepare_image",
    "reference_stats",
    "register_module",
    "resolve_model",
    "result_scores",
    "unregister_module",
    "user_stats_path",
    "with_gradcam",
]
