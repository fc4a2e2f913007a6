"""What both front ends offer, without torch: model lists, defaults, compare sets, kernel sources, statistics.

The UI builds its dropdowns from here at start-up (before torch is imported) and the CLI lists models from
here, so the two never disagree about what exists, what is on this machine, or what a model is called.
Whatever the UI shows can be asked for in English or Chinese (``lang``); names and titles stay as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from visualiser import paths
from visualiser.models import defaults, embedded
from visualiser.models.registry import ModelSpec, get_spec, list_specs
from visualiser.models.weights import weights_available
from visualiser.models.weights.hub import hub_reachable
from visualiser.render.conv3d.kernels import TEACHING_KERNELS
from visualiser.types import Task

Choice = tuple[str, str]  # (what the user reads, the registry name)
ATTENTION_ORDER = {"none": 0, "se": 1, "cbam": 2, "eca": 3}

_NOTES = {
    "en": {
        "yours": "yours",
        "embedded": "embedded",
        "cached_image": "ImageNet, on this machine",
        "cached": "on this machine",
        "download": "not on this machine: {size} MB download on first use",
        "absent": "not on this machine: python -m visualiser fetch {name}",
        "per_frame": "{label} · per frame",
    },
    "zh": {
        "yours": "你的",
        "embedded": "内置",
        "cached_image": "ImageNet，已在本机",
        "cached": "已在本机",
        "download": "不在本机：首次使用时下载 {size} MB",
        "absent": "不在本机：python -m visualiser fetch {name}",
        "per_frame": "{label} · 逐帧",
    },
}


def _note(lang: str, key: str, **values: object) -> str:
    return _NOTES["zh" if lang == "zh" else "en"][key].format(**values)


def model_choices(task: Task, lang: str = "en", owner: str | None = None) -> list[Choice]:
    """Dropdown entries: embedded models first; for the others whether the weights are here, and if not,
    whether they download on first use or which command brings them (when no download can happen now);
    ``owner``'s uploads among them, no one else's."""
    choices = []
    for spec in list_specs(task, owner):
        if spec.provided_by_user:
            note = _note(lang, "yours")
        elif spec.embedded or spec.weights.kind in ("embedded", "none"):
            note = _note(lang, "embedded")
        elif weights_available(spec):
            note = _note(lang, "cached_image" if task == "image" else "cached")
        elif can_download(spec):
            note = _note(lang, "download", size=f"{spec.weights.size_mb:.0f}")
        else:
            note = _note(lang, "absent", name=spec.name)
        choices.append((f"{spec.title} · {note}", spec.name))
    return choices


def can_download(spec: ModelSpec) -> bool:
    """Whether a download of ``spec``'s weights may be tried now, without network: hub files not when the hub is
    offline (``HF_HUB_OFFLINE``) or a connection to it failed recently; plain URLs always may be tried."""
    if spec.weights.kind == "hub":
        return hub_reachable()
    return spec.weights.kind == "url"


def runnable(name: str | None) -> bool:
    """Whether ``name`` can run now: its weights are here, or may be downloaded (``can_download``)."""
    if name is None:
        return False
    spec = get_spec(name)
    return weights_available(spec) or can_download(spec)


def photo_model() -> str | None:
    """The photo model with attention to offer for a real photo or clip (None when none can run here).

    The Space's SE-ResNet-50 first, then any ImageNet model with attention; each only if its weights are here,
    or it comes from the hub and the hub can be reached (a plain URL download is not offered on trust).
    """

    def ready(spec: ModelSpec) -> bool:
        return weights_available(spec) or (spec.weights.kind == "hub" and hub_reachable())

    specs = [s for s in list_specs("image") if not s.embedded and not s.provided_by_user and s.attention != "none"]
    specs.sort(key=lambda s: s.name != defaults.SPACE_IMAGE_MODEL)
    return next((s.name for s in specs if ready(s)), None)


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


def clip_model_choices(lang: str = "en", owner: str | None = None) -> list[Choice]:
    """Clip tab: 3-D clip models first, then image models (run frame by frame); ``owner``'s uploads among them."""
    frame_by_frame = [
        (_note(lang, "per_frame", label=label), name) for label, name in model_choices("image", lang, owner)
    ]
    return model_choices("clip", lang, owner) + frame_by_frame


default_model = defaults.default_model  # the one default (the pipeline's too), where the UI looks for it


_SCORES = {
    "en": {
        "accuracy": "held-out accuracy {value:.1f} %",
        "imagenet_top1": "top-1 {value:.1f} % on ImageNet val",
        "kinetics400_top1": "top-1 {value:.1f} % on Kinetics-400 val",
    },
    "zh": {
        "accuracy": "留出集准确率 {value:.1f} %",
        "imagenet_top1": "ImageNet 验证集 top-1 {value:.1f} %",
        "kinetics400_top1": "Kinetics-400 验证集 top-1 {value:.1f} %",
    },
}
# The registered models' domains in Chinese, keyed by their English text (a domain not listed stays English).
_DOMAINS_ZH = {
    "8 generated shapes in clutter, 96 px": "8 种生成的形状（带杂乱背景），96 像素",
    "8 generated motions of a shape, 16 frames of 64 px": "一个形状的 8 种生成的运动，16 帧，64 像素",
    "ImageNet-1k photos, 1000 classes": "ImageNet-1k 照片，1000 个类别",
    "Kinetics-400 action clips, 400 classes": "Kinetics-400 动作片段，400 个类别",
}
_UPLOAD_DOMAIN = re.compile(r"your checkpoint (?P<file>.+): (?P<classes>\d+) classes \((?P<labels>.*)\)")


def translated_domain(text: str, lang: str = "en") -> str:
    """A model's domain line in the reader's language (English when no translation is known)."""
    if lang != "zh":
        return text
    if text in _DOMAINS_ZH:
        return _DOMAINS_ZH[text]
    upload = _UPLOAD_DOMAIN.fullmatch(text)
    if upload:
        return f"你的检查点 {upload['file']}：{upload['classes']} 个类别（{upload['labels']}）"
    return text


def model_domain(name: str | None, lang: str = "en") -> str:
    """What the model knows, in one line: its data, classes and headline accuracy (from its card)."""
    if name is None:
        return ""
    spec = get_spec(name)
    metrics = spec.metrics
    scores = _SCORES["zh" if lang == "zh" else "en"]
    score = ""
    for key in ("accuracy", "imagenet_top1", "kinetics400_top1"):
        if key in metrics:
            value = 100 * metrics[key] if key == "accuracy" else metrics[key]
            score = scores[key].format(value=value)
            break
    known = translated_domain(spec.domain, lang) if spec.domain else spec.description
    return " · ".join(part for part in (known, score) if part)


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


EMBEDDED_EXAMPLE_DIRS = frozenset(embedded.EXAMPLE_DIRS.values())  # what the embedded models were trained on


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


def kernel_sources() -> list[str]:
    """Every kernel source the 3D-convolution view offers: teaching kernels, then clip models' first layers."""
    return [f"teaching:{name}" for name in TEACHING_KERNELS] + [f"model:{s.name}" for s in list_specs("clip")]


_KERNEL_WORDS = {
    "en": {"teaching": "teaching kernel: {name}", "model": "{title}: first Conv3d layer"},
    "zh": {"teaching": "教学卷积核：{name}", "model": "{title}：第一个 Conv3d 层"},
}


def kernel_choices(lang: str = "en") -> list[Choice]:
    """Dropdown entries for the kernel sources whose weights are on this machine."""
    words = _KERNEL_WORDS["zh" if lang == "zh" else "en"]
    out = []
    for source in kernel_sources():
        kind, _, name = source.partition(":")
        if kind == "teaching":
            out.append((words["teaching"].format(name=name.replace("_", " ")), source))
        elif weights_available(get_spec(name)):
            out.append((words["model"].format(title=get_spec(name).title), source))
    return out
