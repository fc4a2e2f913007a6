"""Analysis: run the network with capture attached and turn what was recorded into plain results and scores."""

from visualiser.analysis.forward import ForwardRecord, recorded_forward
from visualiser.analysis.predictions import top_predictions

__all__ = ["ForwardRecord", "recorded_forward", "top_predictions"]
