"""Capture: everything that hooks a network, each hook owned by a context manager.

* ``recorder``: our modules' taps → the tensors the network used (``AttentionRecorder``);
* ``blocks``: recorded taps → frozen ``BlockAttention`` records;
* ``gradcam``: the feature map of the same pass and its Grad-CAM;
* ``override``: interventions (a gate forced to identity, channels muted);
* ``owned``: the one helper all of them use, so hooks act only for their own request and never outlive it;
* ``watch`` / ``discover``: any ``nn.Module``'s gates (found once by structure and one probe pass, see
  ``trace``, ``gatefind``, ``locate``, ``planner``, ``layouts``), recorded and overridden the same way.
"""

from visualiser.capture.blocks import blocks_from_recording
from visualiser.capture.discover import Discovery, cached_discovery, discover, forget_discovery
from visualiser.capture.gradcam import FeatureGrab, feature_layer, gradcam_maps
from visualiser.capture.intervention import gate_override
from visualiser.capture.override import InterventionMode
from visualiser.capture.owned import OwnedHooks, hook_count
from visualiser.capture.recorder import AttentionRecorder, attention_modules
from visualiser.capture.watch import Watch, watch

__all__ = [
    "AttentionRecorder",
    "Discovery",
    "FeatureGrab",
    "InterventionMode",
    "OwnedHooks",
    "Watch",
    "attention_modules",
    "blocks_from_recording",
    "cached_discovery",
    "discover",
    "feature_layer",
    "forget_discovery",
    "gate_override",
    "gradcam_maps",
    "hook_count",
    "watch",
]
