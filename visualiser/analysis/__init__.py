"""Analysis: run the network with capture attached and turn what was recorded into plain results and scores."""

from visualiser.analysis.forward import Foreign, ForwardRecord, class_scores, no_scores_note, recorded_forward
from visualiser.analysis.predictions import top_predictions

__all__ = ["Foreign", "ForwardRecord", "class_scores", "no_scores_note", "recorded_forward", "top_predictions"]
