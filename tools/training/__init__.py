"""Training, evaluation and excitation statistics of the embedded models (CPU, procedural data).

Public entry points: ``train`` (``loop.py``) and ``evaluate`` (``evaluation.py``); the command line is
``python -m tools.training``. Gate statistics over data (the shipped ``.stats.npz`` included) are the dataset
job's (``visualiser.dataset``; the held-out generated data as its source: ``generated.py``).
"""

from tools.training.evaluation import evaluate
from tools.training.loop import train

__all__ = ["evaluate", "train"]
