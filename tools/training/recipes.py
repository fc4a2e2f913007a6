"""How each embedded model is trained: data stream, batch size, optimiser settings, time budget.

The architectures live in ``visualiser.models.embedded``; this file holds only the recipe, so a
model's card can record both without either module knowing about the other's details.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from tools.training.streams import DataKind
from visualiser.errors import ModelNotFoundError


@dataclass(frozen=True)
class Recipe:
    """Training settings of one model.

    The learning rate follows a one-cycle shape over the run's progress (steps done / steps, or
    time spent / time budget): linear warm-up to ``peak_lr`` over ``warmup`` of the run, then a
    cosine decay to ``peak_lr * final_lr_ratio``. The data follow a clutter curriculum (easy samples
    first, the full task after ``ramp_samples``); evaluation always uses the full task.
    """

    name: str
    data: DataKind
    batch_size: int
    peak_lr: float
    minutes: float  # wall-clock budget when neither ``steps`` nor a budget is asked for
    steps: int | None = None  # default length: a fixed step count keeps runs reproducible on a shared machine
    weight_decay: float = 0.05
    label_smoothing: float = 0.05
    warmup: float = 0.1
    final_lr_ratio: float = 0.02
    grad_clip: float = 2.0
    ramp_samples: int = 30_000  # clutter curriculum: full difficulty after this many training samples
    eval_samples: int = 2000
    eval_seed: int = 20_240_917  # held-out stream; training streams use small seeds (0, 1, ...)

    def to_json(self) -> dict[str, Any]:
        """The recipe as a card records it."""
        return asdict(self)


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("shapes_plain", "shapes", batch_size=48, peak_lr=2e-3, minutes=11.0, steps=3000),
        Recipe("shapes_se", "shapes", batch_size=48, peak_lr=2e-3, minutes=11.0, steps=3000),
        Recipe("shapes_cbam", "shapes", batch_size=48, peak_lr=2e-3, minutes=11.0, steps=3000),
        Recipe(
            "motion_cbam3d",
            "motion",
            batch_size=24,
            peak_lr=1e-3,
            minutes=14.0,
            steps=1600,
            eval_samples=1000,
            ramp_samples=12_000,
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe of an embedded model (ModelNotFoundError lists the trainable names)."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ModelNotFoundError(
            f"no training recipe for {name!r}; trainable models: {', '.join(sorted(RECIPES))}"
        ) from None


def learning_rate(recipe: Recipe, progress: float) -> float:
    """The learning rate at ``progress`` in [0, 1] of the run."""
    p = min(max(progress, 0.0), 1.0)
    if p < recipe.warmup:
        return recipe.peak_lr * max(p / recipe.warmup, 0.02)
    q = (p - recipe.warmup) / max(1e-9, 1 - recipe.warmup)
    low = recipe.peak_lr * recipe.final_lr_ratio
    return low + (recipe.peak_lr - low) * 0.5 * (1 + math.cos(math.pi * q))
