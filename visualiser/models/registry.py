"""The model zoo: named, typed entries that say how to build, load, feed and cite each model.

Entries are registered by the catalogues ``visualiser.models.zoo`` (published ImageNet / Kinetics
networks) and ``visualiser.models.embedded`` (the small models this project trains and ships), which
``visualiser/models/__init__.py`` imports; the registry itself imports neither, so the arrows run one
way (catalogue → registry). It only stores specs; building and loading weights happens in ``create_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from visualiser.errors import InputError, ModelNotFoundError
from visualiser.types import AttentionKind, Task

if TYPE_CHECKING:  # torch is imported only when a model is built, which keeps the app's cold start short
    from torch import nn

WeightsKind = Literal["embedded", "hub", "url", "none"]


@dataclass(frozen=True)
class Preprocess:
    """How an input becomes the tensor the network was trained on.

    Images: resize the short side to ``input_size / crop_pct``, centre-crop ``input_size``.
    Clips (``frames`` set): resize every frame to ``resize_hw`` (H, W), centre-crop ``input_size``.
    ``channels``: 3 (RGB), 1 (pictures are turned grey) or N (bands, given as a NumPy array (H, W, N));
    ``mean`` and ``std`` hold one value per channel (ImageNet's by default, so other counts must give theirs).
    """

    input_size: int = 224
    crop_pct: float = 0.875
    interpolation: Literal["bilinear", "bicubic"] = "bilinear"
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    frames: int | None = None
    resize_hw: tuple[int, int] | None = None
    antialias: bool = True
    channels: int = 3

    def __post_init__(self) -> None:
        if self.channels < 1:
            raise InputError(f"Preprocess(channels=...) must be at least 1; got {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise InputError(
                f"Preprocess(channels={self.channels}) needs mean= and std= with {self.channels} value(s) each "
                f"(the statistics your network was trained with); got {len(self.mean)} and {len(self.std)}"
            )
        if any(not s > 0 for s in self.std):
            raise InputError(f"Preprocess(std=...) values must be positive; got {self.std}")


@dataclass(frozen=True)
class WeightsSource:
    """Where the weights live and how their keys map onto our modules.

    ``location`` is a path under ``assets/`` (embedded), a hub repo id (hub) or a URL (url).
    ``checksum`` is ``"sha1:<hex>"`` or ``"sha256:<hex or prefix>"`` of the downloaded payload
    (the .pth inside a zip for imgclsmob). ``key_map`` names a remapper in ``weights.py``.
    """

    kind: WeightsKind
    location: str = ""
    filename: str | None = None
    checksum: str | None = None
    key_map: str = "identity"
    size_mb: float = 0.0
    archive: Literal["none", "zip"] = "none"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the app needs to know about one named model."""

    name: str
    title: str
    task: Task
    builder: Callable[[], nn.Module]
    weights: WeightsSource
    preprocess: Preprocess
    labels: str  # "imagenet1k", "kinetics400", or "file:<path under assets/>"
    attention: AttentionKind  # what its blocks carry: "se", "cbam", "eca", "none"
    citation: str = ""
    license: str = ""
    description: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    embedded: bool = False
    domain: str = ""  # what the network learned, in a few words: "ImageNet-1k photos, 1000 classes"
    provided_by_user: bool = False  # an uploaded checkpoint or a module handed to ``visualiser.launch``
    owner: str | None = None  # the session that uploaded it: listed to no one else (``models.uploads``)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a spec; names are unique."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a spec (tests and user sessions that registered their own models); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def list_specs(task: Task | None = None, owner: str | None = None) -> list[ModelSpec]:
    """The registered models (optionally of one task) that everyone sees, plus ``owner``'s own; embedded first."""
    specs = [
        s for s in _REGISTRY.values() if (task is None or s.task == task) and (s.owner is None or s.owner == owner)
    ]
    return sorted(specs, key=lambda s: (not s.embedded, s.name))


def get_spec(name: str) -> ModelSpec:
    """The spec called ``name``, or a ModelNotFoundError listing the names everyone sees."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown_model(name) from None


def unknown_model(name: object, owner: str | None = None) -> ModelNotFoundError:
    """"unknown model …; known models: …" naming only what ``owner`` may see, the name echoed short."""
    known = ", ".join(sorted(s.name for s in list_specs(owner=owner)))
    shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:78] + "…'"
    return ModelNotFoundError(f"unknown model {shown}; known models: {known}")
