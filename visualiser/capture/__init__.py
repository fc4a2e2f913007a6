"""Capture: everything that hooks a network, each hook owned by a context manager; one engine for every network.

* ``watch``: the one recorder (``watch`` / ``Watch``), which also forces gates for interventions (``overrides``);
* ``discover``: which blocks a network has, from this project's modules' structure and, for any other
  network, one probe pass (``probe``) read by the run-time rule (``rules``) into block plans (``plans``),
  named by the known layouts (``known_layouts``); ``wiring``: what a recording pass hooks;
* ``gradcam``: the feature map of the same pass and its Grad-CAM;
* ``owned``: the one helper all of them use, so hooks act only for their own request and never outlive it.
"""

from visualiser.capture.discover import Discovery, describe_output, discover, model_input
from visualiser.capture.gradcam import FeatureGrab, feature_layer, gradcam_maps
from visualiser.capture.owned import OwnedHooks, hook_count
from visualiser.capture.watch import Watch, watch
from visualiser.capture.wiring import InterventionMode, Override

__all__ = [
    "Discovery",
    "FeatureGrab",
    "InterventionMode",
    "Override",
    "OwnedHooks",
    "Watch",
    "describe_output",
    "discover",
    "feature_layer",
    "gradcam_maps",
    "hook_count",
    "model_input",
    "watch",
]
