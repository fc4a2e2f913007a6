"""A user's checkpoint → one of our networks, loaded once and registered under a name the pipeline can use.

``register_checkpoint(path)`` reads the file safely (``checkpoints.read_checkpoint``), infers the
architecture from its keys and shapes (``architecture.infer_architecture``; or takes a registered architecture
named by ``arch``), checks every key and shape against our module built on the meta device (so a misfit
costs no memory and the error names what differs), builds it, loads it strictly (``weights.load_into``) and
registers a ``ModelSpec`` whose builder returns that loaded module (weights kind ``"none"``: nothing is left
to fetch). The name is ``upload:<stem>-<sha256[:8]>``; the same file (same bytes) with the same options
gives the same name without being read again. Each registration keeps its module in memory until
``unregister_checkpoint`` (and ``pipeline.forget_models``) drop it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visualiser.errors import ModelNotFoundError, VisualiserError, WeightsError
from visualiser.models.architecture import infer_architecture
from visualiser.models.checkpoints import check_size, read_checkpoint
from visualiser.models.configs import ResNetConfig, VideoResNetConfig
from visualiser.models.infer import Config, Inference, classifier_size, with_classes
from visualiser.models.layouts import BY_KEY_MAP
from visualiser.models.registry import ModelSpec, Preprocess, WeightsSource, get_spec, register, unregister
from visualiser.models.upload_labels import LabelsArg, choose_labels, read_labels

if TYPE_CHECKING:
    import torch
    from torch import nn

_CITATIONS = {
    "se": "Hu et al., Squeeze-and-Excitation Networks, CVPR 2018, https://arxiv.org/abs/1709.01507",
    "cbam": "Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018, https://arxiv.org/abs/1807.06521",
    "eca": "Wang et al., ECA-Net: Efficient Channel Attention, CVPR 2020, https://arxiv.org/abs/1910.03151",
    "none": "He et al., Deep Residual Learning for Image Recognition, CVPR 2016, https://arxiv.org/abs/1512.03385",
}


@dataclass(frozen=True)
class UploadedCheckpoint:
    """What was registered: the file, what its keys said, what was assumed, and what it cost."""

    name: str
    path: str
    sha256: str
    size_bytes: int
    inference: Inference
    labels: str  # where the class names came from, in words
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def title(self) -> str:
        inf, k = self.inference, self.inference.config.num_classes
        how = f"as {inf.arch}" if inf.arch else inf.layout.title
        return f"{inf.family} ({how}, {k} class{'es' if k != 1 else ''}, from {Path(self.path).name})"

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready record of where the weights came from and what was inferred (result files carry it)."""
        inf = self.inference
        return {
            "name": self.name,
            "title": self.title,
            "file": Path(self.path).name,
            "path": self.path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "layout": inf.layout.name,
            "key_map": inf.layout.key_map,
            "arch": inf.arch,
            "family": inf.family,
            "config": _plain(dataclasses.asdict(inf.config)),
            "config_type": type(inf.config).__name__,
            "read_from_keys": list(inf.read),
            "assumed_by_convention": list(inf.assumed),
            "preprocess": _plain(dataclasses.asdict(inf.effective_preprocess)),
            "labels": self.labels,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
        }


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_LOCK = threading.Lock()
_FILE_LOCKS: dict[str, threading.Lock] = {}
_DIGESTS: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime_ns) → sha256
_BY_OPTIONS: dict[tuple[object, ...], str] = {}  # (sha256, arch, labels, preprocess, name) → registered name
_UPLOADS: dict[str, UploadedCheckpoint] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so an unchanged file is hashed once."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    cached = _DIGESTS.get(key)
    if cached is None:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        cached = _DIGESTS[key] = digest.hexdigest()
    return cached


def _default_name(path: Path, sha256: str, options_key: tuple[object, ...]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.name.split(".")[0])[:40].strip("._-") or "checkpoint"
    name = f"upload:{stem}-{sha256[:8]}"
    if any(options_key[1:]):  # another architecture, labels or preprocessing: another model from the same bytes
        name += "-" + hashlib.sha256(repr(options_key[1:]).encode()).hexdigest()[:6]
    return name


def register_checkpoint(
    path: str | os.PathLike[str],
    arch: str | None = None,
    labels: LabelsArg = None,
    name: str | None = None,
    preprocess: Preprocess | None = None,
) -> str:
    """Read, infer, build, strictly load and register a user's checkpoint; returns its registry name.

    ``arch`` names a registered architecture to load it into instead of inferring one (the checkpoint's
    class count replaces the architecture's). ``labels``: a text file (one name per line) or a sequence
    of names, as many as the classes; default the architecture's own names when the count matches, else
    ImageNet-1k for 1000 classes / Kinetics-400 for 400-class clip models, else ``class 0..K-1``.
    Raises ``WeightsError`` / ``InputError`` / ``ModelNotFoundError`` with a sentence a person can act on.
    """
    path = Path(path)
    size = check_size(path)  # before hashing: an oversized upload is refused without being read
    t0 = time.perf_counter()
    sha256 = file_sha256(path)
    hashed = time.perf_counter()
    label_names = read_labels(labels) if labels is not None else None
    options_key = (sha256, arch, label_names, preprocess, name)
    if name is not None and name not in _UPLOADS and _is_registered(name):
        raise VisualiserError(f"the model name {name!r} is taken; choose another name")
    with _LOCK:
        file_lock = _FILE_LOCKS.setdefault(sha256, threading.Lock())
    with file_lock:
        known = _BY_OPTIONS.get(options_key)
        if known is not None and known in _UPLOADS:
            return known
        started = time.perf_counter()
        state = read_checkpoint(path)
        read = time.perf_counter()
        inference = _arch_inference(arch, state, path.name) if arch else infer_architecture(state, path.name)
        if preprocess is not None:
            inference = dataclasses.replace(inference, preprocess=preprocess)
        inferred = time.perf_counter()
        model = build_and_load(inference, state, path.name)
        del state
        loaded = time.perf_counter()
        labels_spec, labels_text = choose_labels(label_names, labels, inference)
        timings = {
            "hash_s": hashed - t0,
            "read_s": read - started,
            "infer_s": inferred - read,
            "build_and_load_s": loaded - inferred,
            "total_s": hashed - t0 + loaded - started,
        }
        chosen = name or _default_name(path, sha256, options_key)
        upload = UploadedCheckpoint(chosen, str(path), sha256, size, inference, labels_text, timings)
        with _LOCK:
            if chosen in _UPLOADS or _is_registered(chosen):
                raise VisualiserError(f"the model name {chosen!r} is taken; choose another name")
            register(_spec(upload, model, labels_spec))
            _UPLOADS[chosen] = upload
            _BY_OPTIONS[options_key] = chosen
        return chosen


def _is_registered(name: str) -> bool:
    try:
        get_spec(name)
    except ModelNotFoundError:
        return False
    return True


def checkpoint_info(name: str) -> UploadedCheckpoint:
    """What ``register_checkpoint`` recorded for ``name``."""
    try:
        return _UPLOADS[name]
    except KeyError:
        raise ModelNotFoundError(f"{name!r} is not a registered checkpoint") from None


def uploaded_names() -> list[str]:
    """Names registered from checkpoints in this process, oldest first."""
    return list(_UPLOADS)


def unregister_checkpoint(name: str) -> None:
    """Forget a registered checkpoint (its spec and module); unknown names are ignored."""
    with _LOCK:
        if _UPLOADS.pop(name, None) is not None:
            unregister(name)
        for key in [k for k, v in _BY_OPTIONS.items() if v == name]:
            del _BY_OPTIONS[key]


def _spec(upload: UploadedCheckpoint, model: nn.Module, labels_spec: str) -> ModelSpec:
    inf = upload.inference

    def builder() -> nn.Module:
        return model  # loaded once; the pipeline caches it and puts it in eval mode

    config = inf.config
    return ModelSpec(
        name=upload.name,
        title=upload.title,
        task=inf.layout.task,
        builder=builder,
        weights=WeightsSource(
            kind="none",
            location=upload.path,
            checksum=f"sha256:{upload.sha256}",
            key_map=inf.layout.key_map,
            size_mb=round(upload.size_bytes / 1e6, 1),
        ),
        preprocess=inf.effective_preprocess,
        labels=labels_spec,
        attention=config.attn,
        citation=_CITATIONS[config.attn],
        license="the uploader's own checkpoint",
        description=(
            f"Read from the keys: {'; '.join(inf.read)}. Assumed ({inf.layout.title} convention): "
            f"{'; '.join(inf.assumed)}. Labels: {upload.labels}."
        ),
        domain=f"your checkpoint {Path(upload.path).name}: {config.num_classes} classes ({upload.labels})",
        provided_by_user=True,
    )


def _arch_inference(arch: str, state: dict[str, torch.Tensor], source: str) -> Inference:
    """The registered architecture ``arch`` with the checkpoint's class count."""
    import torch

    from visualiser.models.infer import canonical_config

    spec = get_spec(arch)
    with torch.device("meta"):  # only its config is needed
        config = getattr(spec.builder(), "cfg", None)
    if not isinstance(config, ResNetConfig | VideoResNetConfig):
        raise WeightsError(f"{arch!r} is not one of our ResNets, so a checkpoint cannot be loaded into it by name")
    layout = BY_KEY_MAP.get(spec.weights.key_map, BY_KEY_MAP["identity"])
    layout = dataclasses.replace(layout, task=spec.task, preprocess=spec.preprocess, preprocess_note="as " + arch)
    classes = classifier_size(state, layout.key_map)
    base = spec.title.split(" (")[0]
    read = (f"{classes} classes (the rest of the architecture is {arch}'s)",)
    assumed = (f"architecture, key names and preprocessing of {arch} ({spec.title})",)
    return Inference(layout, canonical_config(with_classes(config, classes)), base, read, assumed, arch=arch)


def _build(config: Config) -> nn.Module:
    if isinstance(config, VideoResNetConfig):
        from visualiser.models.video_resnet import build_video_resnet

        return build_video_resnet(config)
    from visualiser.models.resnet import build_resnet

    return build_resnet(config)


def _listed(items: list[str], n: int = 6) -> str:
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def check_fit(
    model: nn.Module, inference: Inference, state: dict[str, torch.Tensor], source: str
) -> dict[str, torch.Tensor]:
    """The state renamed into our layout and ready to assign to ``model``: every key and shape checked.

    ``model`` may live on the meta device (no memory); the error names the keys and shapes that differ,
    in the checkpoint's own names where it has them.
    """
    import torch

    from visualiser.models.weights import remap_state_dict

    renamed = remap_state_dict(state, inference.layout.key_map)
    original = {id(v): k for k, v in state.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in renamed and not k.endswith("num_batches_tracked")]
    unexpected = [original.get(id(v), k) for k, v in renamed.items() if k not in expected]
    wrong = [
        f"{original.get(id(v), k)} {tuple(v.shape)} (ours {tuple(expected[k].shape)})"
        for k, v in renamed.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        parts = [f"unexpected keys: {_listed(unexpected)}"] if unexpected else []
        parts += [f"shapes that differ: {_listed(wrong)}"] if wrong else []
        parts += [f"missing (our names): {_listed(missing)}"] if missing else []
        how = f"{inference.arch}'s architecture" if inference.arch else f"{inference.family} ({inference.layout.title})"
        raise WeightsError(f"{source} comes closest to {how} but does not fit it: " + "; ".join(parts))
    for key, ours in expected.items():
        if key not in renamed:  # only num_batches_tracked: older checkpoints lack it, evaluation never reads it
            renamed[key] = torch.zeros((), dtype=torch.long)
        elif renamed[key].dtype != ours.dtype:  # a float16 / bfloat16 checkpoint: our modules compute in float32
            renamed[key] = renamed[key].to(ours.dtype)
        renamed[key] = renamed[key].contiguous()
    return renamed


def build_and_load(inference: Inference, state: dict[str, torch.Tensor], source: str) -> nn.Module:
    """Our module for ``inference.config`` holding the checkpoint's tensors, in eval mode.

    Built on the meta device and given the checked tensors themselves (``assign=True``): strict like
    ``weights.load_into`` (every key, every shape) without initialising and then overwriting ~25 M
    parameters, which took 0.5-1 s of the ~1.2 s a ResNet-50 upload cost.
    """
    import itertools

    import torch

    with torch.device("meta"):
        model = _build(inference.config)
    renamed = check_fit(model, inference, state, source)
    model.load_state_dict(renamed, strict=True, assign=True)
    left = [n for n, t in itertools.chain(model.named_parameters(), model.named_buffers()) if t.is_meta]
    if left:
        raise WeightsError(f"{source}: no tensor was loaded for {_listed(left)}")
    return model.eval()
