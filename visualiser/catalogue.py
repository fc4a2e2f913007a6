"""What both front ends offer, without torch: model lists, defaults, compare sets, kernel sources, statistics.

The UI builds its dropdowns from here at start-up (before torch is imported) and the CLI lists models from
here, so the two never disagree about what exists, what is on this machine, or what a model is called.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from visualiser import paths
from visualiser.errors import VisualiserError
from visualiser.models import defaults
from visualiser.models.registry import ModelSpec, get_spec, list_specs
from visualiser.models.weights import weights_available
from visualiser.types import Task

Choice = tuple[str, str]  # (what the user reads, the registry name)
ATTENTION_ORDER = {"none": 0, "se": 1, "cbam": 2, "eca": 3}


def model_choices(task: Task) -> list[Choice]:
    """Dropdown entries: embedded models first, download sizes for the others."""
    choices = []
    for spec in list_specs(task):
        if spec.provided_by_user:
            note = "yours"
        elif spec.embedded or spec.weights.kind in ("embedded", "none"):
            note = "embedded"
        elif weights_available(spec):
            note = "ImageNet, cached" if task == "image" else "cached"
        else:
            note = f"{spec.weights.size_mb:.0f} MB download"
        choices.append((f"{spec.title} · {note}", spec.name))
    return choices


def model_rows() -> list[dict[str, object]]:
    """Every registered model as a row for ``python -m visualiser models``: source, size, weights here?"""
    return [
        {
            "name": spec.name,
            "task": spec.task,
            "attention": spec.attention,
            "source": spec.weights.kind + (f" {spec.weights.location}" if spec.weights.location else ""),
            "size_mb": round(spec.weights.size_mb, 1),
            "available": weights_available(spec),
            "title": spec.title,
            "domain": spec.domain,
        }
        for spec in list_specs()
    ]


def architecture_choices() -> list[Choice]:
    """Registered image architectures a checkpoint can be loaded into (``--arch``), not uploads themselves."""
    return [(spec.title, spec.name) for spec in list_specs("image") if not spec.provided_by_user]


def clip_model_choices() -> list[Choice]:
    """Clip tab: 3-D clip models first, then image models (run frame by frame)."""
    frame_by_frame = [(f"{label} · per frame", name) for label, name in model_choices("image")]
    return model_choices("clip") + frame_by_frame


def default_model(task: Task) -> str | None:
    """The pipeline's default for the task, or the first registered model when none has weights here."""
    try:
        return defaults.default_model(task)
    except VisualiserError:
        specs = list_specs(task)
        return specs[0].name if specs else None


def model_domain(name: str | None) -> str:
    """What the model knows, in one line: its data, classes and headline accuracy (from its card)."""
    if name is None:
        return ""
    spec = get_spec(name)
    metrics = spec.metrics
    if "accuracy" in metrics:
        score = f"held-out accuracy {100 * metrics['accuracy']:.1f} %"
    elif "imagenet_top1" in metrics:
        score = f"top-1 {metrics['imagenet_top1']:.1f} % on ImageNet val"
    elif "kinetics400_top1" in metrics:
        score = f"top-1 {metrics['kinetics400_top1']:.1f} % on Kinetics-400 val"
    else:
        score = ""
    return " · ".join(part for part in (spec.domain or spec.description, score) if part)


def is_embedded(name: str | None) -> bool:
    """Whether ``name`` is one of the small embedded models (trained on generated shapes / motions)."""
    return name is not None and get_spec(name).embedded


def compare_sets() -> dict[str, list[str]]:
    """One image model per attention kind (none, SE, CBAM, ECA), for the embedded and the ImageNet models.

    Within a kind, models whose weights are already here win, then the Space's default, then ResNet-50s.
    """

    def preference(spec: ModelSpec) -> tuple[bool, bool, bool]:
        return (not weights_available(spec), spec.name != defaults.SPACE_IMAGE_MODEL, "resnet50" not in spec.name)

    groups: dict[str, dict[str, ModelSpec]] = {"embedded": {}, "imagenet": {}}
    for spec in list_specs("image"):
        group = groups["embedded" if spec.embedded else "imagenet"]
        best = group.get(spec.attention)
        if best is None or preference(spec) < preference(best):
            group[spec.attention] = spec
    return {
        name: [group[k].name for k in sorted(group, key=lambda k: ATTENTION_ORDER.get(k, 9))]
        for name, group in groups.items()
        if group
    }


EMBEDDED_EXAMPLE_DIRS = ("shapes", "motion")  # what the embedded models were trained on


def example_files(task: Task, embedded_first: bool = True) -> list[Path]:
    """Shipped examples under ``assets/examples`` (images or clips); what the default model understands first.

    With an embedded default the generated shapes / motions come first, else the real photos and clips; the
    stable sort keeps each group's own order.
    """
    root = paths.EXAMPLES_DIR
    if not root.is_dir():
        return []
    suffixes = paths.IMAGE_SUFFIXES if task == "image" else paths.CLIP_SUFFIXES
    files = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in suffixes and p.is_file()]

    def generated(path: Path) -> bool:
        return path.relative_to(root).parts[0] in EMBEDDED_EXAMPLE_DIRS

    return sorted(files, key=lambda p: generated(p) != embedded_first)


@functools.cache
def generated_example_digests() -> frozenset[str]:
    """SHA-1s of the shipped generated examples: the inputs the embedded models were made for."""
    root = paths.EXAMPLES_DIR
    files = [p for d in EMBEDDED_EXAMPLE_DIRS if (root / d).is_dir() for p in sorted((root / d).iterdir())]
    return frozenset(hashlib.sha1(p.read_bytes(), usedforsecurity=False).hexdigest() for p in files if p.is_file())


def is_generated_example(sha1: str) -> bool:
    """Whether a result's input file is one of the shipped generated shapes / motions (by content)."""
    return bool(sha1) and sha1 in generated_example_digests()


def kernel_sources() -> list[str]:
    """Every kernel source the 3D-convolution view offers: teaching kernels, then clip models' first layers."""
    from visualiser.render.conv3d.kernels import TEACHING_KERNELS

    return [f"teaching:{name}" for name in TEACHING_KERNELS] + [f"model:{s.name}" for s in list_specs("clip")]


def kernel_choices() -> list[Choice]:
    """Dropdown entries for the kernel sources whose weights are on this machine."""
    out = []
    for source in kernel_sources():
        kind, _, name = source.partition(":")
        if kind == "teaching":
            out.append((f"teaching kernel: {name.replace('_', ' ')}", source))
        elif weights_available(get_spec(name)):
            out.append((f"{get_spec(name).title}: first Conv3d layer", source))
    return out


def user_stats_path(model: str) -> Path:
    """Where ``python -m visualiser stats ... --install`` puts a model's statistics: the user's cache."""
    from visualiser.models.weights.cache import cache_dir

    return cache_dir() / "stats" / f"{model}.stats.npz"


def reference_stats_path(model: str) -> Path | None:
    """The model's class-mean excitation statistics (the SE Fig. 6 reference), if they were computed here.

    Statistics a user computed and installed come first, then the ones shipped with the package.
    """
    for path in (user_stats_path(model), paths.stats_path(model)):
        if path.is_file():
            return path
    return None
