"""A user's own network in the pipeline: found once, given a spec, analysed like a registry model.

``foreign_model(module, ...)`` puts the module in eval mode (as the pipeline does with its own
networks), discovers its attention blocks once on a probe input of the preprocessed size, and wraps it
in a ``LoadedModel`` whose spec has a generated name. Defaults: ImageNet preprocessing (224 px,
crop 0.875, bilinear, ImageNet mean / std) and labels ``class 0 .. class K-1``. ``register_module`` also
lists it under that name, so the app (``launch(my_model)``) and every ``model=`` argument can use it.

A network taking other than RGB says so with ``Preprocess(channels=C, mean=..., std=...)``: a picture is
turned grey for one channel; C bands come as a NumPy array (H, W, C) (``media.bands``). A callable
``preprocess`` takes the decoded ``(H, W, 3)`` uint8 RGB picture and returns the network's input,
``(C, h, w)`` or ``(1, C, h, w)`` float, any C; the whole picture is then taken as what the network saw
(its crop, if it makes one, is not known), so heatmaps are drawn over the picture resized to (h, w).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from visualiser.analysis import Foreign, class_scores
from visualiser.analysis.forward import ImageTransform, ScoresFn
from visualiser.capture import discover, model_input
from visualiser.errors import InputError
from visualiser.models.registry import (
    ModelSpec,
    Preprocess,
    WeightsSource,
    get_spec,
    list_specs,
    register,
    unregister,
)
from visualiser.pipeline.models import LoadedModel, drop_foreign, foreign_models, get_model, keep_foreign
from visualiser.preprocess import preprocess_image
from visualiser.result import CropGeometry, FoundModule

Preprocessing = Preprocess | ImageTransform
ModelChoice = str | nn.Module | LoadedModel | None
PROBE_SIDE = 224  # the grey image a callable preprocess is probed with
KEPT_PER_MODULE = 8  # option sets kept per module (a new scores= function object makes a new entry)

# Per module and options: (spec, labels, foreign). Nothing in a value refers to the module, so it can go.
_BUILT: weakref.WeakKeyDictionary[nn.Module, dict[tuple[Any, ...], tuple[ModelSpec, tuple[str, ...], Foreign]]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def probe_input(pre: Preprocess, transform: ImageTransform | None = None) -> torch.Tensor:
    """A tensor shaped like the network's input, for discovery (its values do not matter)."""
    if transform is not None:
        return _transformed(transform, np.full((PROBE_SIDE, PROBE_SIDE, 3), 127, np.uint8))
    g = torch.Generator().manual_seed(0)
    side = pre.input_size
    shape = (1, pre.channels, pre.frames, side, side) if pre.frames else (1, pre.channels, side, side)
    return torch.randn(shape, generator=g)


def _transformed(transform: ImageTransform, pixels: np.ndarray) -> torch.Tensor:
    """A callable preprocess applied: a (1, C, h, w) float tensor, or an ``InputError`` saying what it returned."""
    x = transform(pixels)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"preprocess= must return a torch.Tensor; it returned a {type(x).__name__}")
    x = (x[None] if x.dim() == 3 else x).float()
    if x.dim() != 4 or x.shape[0] != 1:
        raise InputError(f"preprocess= must return a (C, h, w) or (1, C, h, w) tensor; it returned {tuple(x.shape)}")
    return x


def prepare_image(pixels: np.ndarray, loaded: LoadedModel) -> tuple[torch.Tensor, np.ndarray, CropGeometry]:
    """(1, C, h, w) input, the (h, w, 3) picture of what the network saw, and its geometry in the original.

    ``pixels`` is a decoded (H, W, 3) uint8 picture, or (H, W, C) bands for a ``Preprocess(channels=C)`` network.
    """
    transform = loaded.foreign.transform if loaded.foreign is not None else None
    if transform is None:
        return preprocess_image(pixels, loaded.spec.preprocess)
    x = _transformed(transform, pixels)
    h, w = int(x.shape[-2]), int(x.shape[-1])
    height, width = pixels.shape[:2]
    seen = np.asarray(Image.fromarray(pixels).resize((w, h), Image.Resampling.BILINEAR), dtype=np.uint8)
    return x, seen, CropGeometry((width, height), (w, h), (0, 0, w, h))


def input_channels(model: ModelChoice, preprocess: Preprocessing | None, default: Callable[[], str]) -> int:
    """How many channels the input is decoded for, known before the network runs (so limits come first).

    The ``Preprocess`` that will feed the network says it: the one given, a registered model's, or RGB (3) for the
    default and for a callable ``preprocess`` (which takes the decoded picture).
    """
    if isinstance(model, LoadedModel):
        transform = model.foreign.transform if model.foreign is not None else None
        return 3 if transform is not None else model.spec.preprocess.channels
    if isinstance(model, nn.Module):
        return preprocess.channels if isinstance(preprocess, Preprocess) else 3
    if isinstance(model, str) or model is None:
        return get_spec(model or default()).preprocess.channels
    return 3  # not a model: resolve_model says what is wrong with it


def _first_conv_channels(model: nn.Module) -> int | None:
    """The input channels of the network's first convolution (a guess at what it takes), if it has one."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Conv3d):
            return int(module.in_channels)
    return None


def _refused(model: nn.Module, x: torch.Tensor, error: Exception) -> InputError:
    """Why discovery's probe failed, in words: the channels the first convolution takes, or the input size."""
    takes = _first_conv_channels(model)
    if takes is not None and takes != x.shape[1]:
        return InputError(
            f"{type(model).__name__} takes {takes} input channel(s) (its first convolution); the preprocessing gives "
            f"{x.shape[1]}: pass preprocess=Preprocess(channels={takes}, mean=..., std=...) with {takes} value(s) each"
        )
    return InputError(
        f"{type(model).__name__} failed on an input of shape {tuple(x.shape)} ({error}); give preprocess= "
        "with the input size it expects"
    )


def _labels(
    model: nn.Module, x: torch.Tensor, labels: Sequence[str] | None, scores: ScoresFn | None, classes: int | None
) -> tuple[str, ...]:
    if scores is not None:
        with torch.no_grad():
            value = class_scores(model(model_input(model, x)), x.shape[0], scores)
        classes = int(value.shape[1]) if value is not None else None
    if labels is None:
        return tuple(f"class {i}" for i in range(classes or 0))
    names = tuple(str(label) for label in labels)
    if classes is not None and len(names) != classes:
        raise InputError(f"labels has {len(names)} names but the network gives {classes} class scores")
    return names


def _builder(ref: weakref.ref[nn.Module]) -> Callable[[], nn.Module]:
    """The spec's builder: the module itself, while it exists (the spec must not keep it alive)."""

    def build() -> nn.Module:
        model = ref()
        if model is None:
            raise InputError("this network no longer exists; pass it again")
        return model

    return build


def _name(model: nn.Module, wanted: str | None) -> str:
    taken = {s.name for s in list_specs()}
    if wanted is not None:
        if wanted in taken:
            raise InputError(f"a model called {wanted!r} is already registered; choose another name")
        return wanted
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(model).__name__)
    base = "custom_" + words.lower()
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def foreign_model(
    model: nn.Module,
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    scores: ScoresFn | None = None,
    feature_layer: str | None = None,
    title: str | None = None,
    name: str | None = None,
) -> LoadedModel:
    """``model`` ready for the pipeline: eval mode, blocks discovered (once), a spec, labels.

    Built once per module and set of options (pass the same ``scores`` function object to reuse it: with
    ``scores`` and no ``labels``, the number of classes is read from one forward pass).
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a registry name or a torch.nn.Module, not {type(model).__name__}")
    transform = preprocess if callable(preprocess) and not isinstance(preprocess, Preprocess) else None
    pre = preprocess if isinstance(preprocess, Preprocess) else Preprocess()
    key = (pre, id(transform), None if labels is None else tuple(labels), id(scores), feature_layer, title, name)
    with _LOCK:
        built = _BUILT.get(model, {}).get(key)
        if built is not None:
            return LoadedModel(built[0], model, built[1], built[2])
        model.eval()
        x = probe_input(pre, transform)
        _refuse_video_network_for_images(model, x)
        try:
            found = discover(model, x)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:  # the network refused the input's shape
            raise _refused(model, x, e) from e
        kinds = [f.attention for f in found.found]
        spec = ModelSpec(
            name=name or f"custom_{type(model).__name__.lower()}",
            title=title or type(model).__name__,
            task="clip" if x.dim() == 5 else "image",
            builder=_builder(weakref.ref(model)),
            weights=WeightsSource(kind="none"),
            preprocess=pre,
            labels="custom",
            attention="cbam" if "cbam" in kinds else (kinds[0] if kinds else "none"),  # type: ignore[arg-type]
            description=found.message,
            domain=f"your own network ({type(model).__name__}); what it learned is yours to say",
            provided_by_user=True,
        )
        names = _labels(model, x, labels, scores, found.num_classes)
        foreign = Foreign(found, scores, feature_layer, transform)
        kept = _BUILT.setdefault(model, {})
        kept[key] = (spec, names, foreign)
        while len(kept) > KEPT_PER_MODULE:
            kept.pop(next(iter(kept)))
        return LoadedModel(spec, model, names, foreign)


def _refuse_video_network_for_images(model: nn.Module, x: torch.Tensor) -> None:
    """A network whose first convolution is 3-D takes clips: point at ``analyse_clip`` instead of failing on shapes."""
    if x.dim() != 4:
        return
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Conv3d)), None)
    if isinstance(first, nn.Conv3d):
        raise InputError(
            f"{type(model).__name__} is a video network (its first convolution is a Conv3d, taking (N, C, T, H, W) "
            "clips): analyse it with analyse_clip(clip, model=..., preprocess=Preprocess(frames=T, ...))"
        )


def register_module(
    model: nn.Module,
    name: str | None = None,
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    scores: ScoresFn | None = None,
    feature_layer: str | None = None,
) -> str:
    """List ``model`` under a name (generated: ``custom_<class name>``) so every ``model=`` can use it.

    Registering the same module again with no new name returns the name it already has.
    """
    for loaded in foreign_models():
        if loaded.model is model and name in (None, loaded.spec.name):
            return loaded.spec.name
    chosen = _name(model, name)
    loaded = foreign_model(model, preprocess, labels, scores, feature_layer, title, chosen)
    register(loaded.spec)
    keep_foreign(loaded)
    return chosen


def unregister_module(name: str) -> None:
    """Remove a network added with ``register_module`` (unknown names are ignored)."""
    drop_foreign(name)
    unregister(name)


def resolve_model(
    model: ModelChoice,
    default: Callable[[], str],
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    scores: ScoresFn | None = None,
    feature_layer: str | None = None,
) -> LoadedModel:
    """A registry name (or None: ``default()``), a ``LoadedModel``, or any ``nn.Module`` → a ready model."""
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, nn.Module):
        return foreign_model(model, preprocess, labels, scores, feature_layer)
    if model is not None and not isinstance(model, str):
        raise InputError(f"model must be a registry name or a torch.nn.Module, not {type(model).__name__}")
    if any(option is not None for option in (preprocess, labels, scores, feature_layer)):
        raise InputError("preprocess=, labels=, scores= and feature_layer= apply to your own network (an nn.Module)")
    return get_model(model or default())


def found_modules(loaded: LoadedModel) -> tuple[FoundModule, ...]:
    """Every attention module found in a user's network (empty for our own networks: their modules are known)."""
    return () if loaded.foreign is None else tuple(loaded.foreign.discovery.found)


def result_note(loaded: LoadedModel, note: str | None) -> str:
    """A result's note: the recorded pass's (no class output), and for a user's network where nothing was found,
    what was looked for (``watch`` says the same)."""
    parts = [note or ""]
    if loaded.foreign is not None and not loaded.foreign.discovery.found:
        parts.insert(0, loaded.foreign.discovery.message)
    return " ".join(part for part in parts if part)
