"""Training, evaluation and excitation statistics of the embedded models (CPU, procedural data).

Public entry points: ``train`` (``loop.py``), ``evaluate`` (``evaluation.py``) and
``class_statistics`` (``statistics.py``); the command line is ``python -m visualiser.training``.
"""

from visualiser.training.evaluation import evaluate
from visualiser.training.loop import train
from visualiser.training.statistics import class_statistics

__all__ = ["class_statistics", "evaluate", "train"]
