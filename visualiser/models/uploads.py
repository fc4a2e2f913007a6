"""A user's checkpoint → one of our networks, judged before it is read, loaded once, registered for its owner.

``register_checkpoint(path, owner=...)`` opens the file with the one reader (``checkpoints.open_checkpoint``:
a safetensors header, or a torch file's zip entries and pickle, judged first), infers the architecture from
the declared keys and shapes (``architecture.infer_architecture``; or takes a registered architecture named
by ``arch``), checks every key and shape against our module built on the meta device, makes room within the
memory budgets (``upload_store``), and only then reads the tensors (float32, finite) straight into that
module (``weights.load_into``, the one strict loader). The result is registered as a ``ModelSpec`` whose
builder returns the loaded module.

Names: for the process itself (``owner=None``: the CLI, a notebook) ``upload:<stem>-<sha256[:8]>``, stable
across runs; for an owner (a browser session, an API client) ``upload:<stem>-<24 random hex digits>``, which
no one else can guess, listed to and usable by that owner only (``check_access``). The same bytes with the
same options give the same name again without being read; two owners of the same file share one module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from visualiser.allocator import release_memory
from visualiser.errors import ModelNotFoundError, VisualiserError, WeightsError
from visualiser.models.architecture import infer_architecture, renamed_shapes
from visualiser.models.checkpoints import Checkpoint, check_size, open_checkpoint
from visualiser.models.configs import ResNetConfig, VideoResNetConfig
from visualiser.models.infer import Config, Inference, classifier_size, with_classes
from visualiser.models.layouts import BY_KEY_MAP
from visualiser.models.registry import (
    ModelSpec,
    Preprocess,
    WeightsSource,
    get_spec,
    register,
    unknown_model,
    unregister,
)
from visualiser.models.upload_labels import LabelsArg, choose_labels, read_labels
from visualiser.models.upload_store import UploadStore
from visualiser.models.weights.remap import rename_keys
from visualiser.models.weights.strict import check_fit, load_into, shapes_of

if TYPE_CHECKING:
    import torch
    from torch import nn

_CITATIONS = {
    "se": "Hu et al., Squeeze-and-Excitation Networks, CVPR 2018, https://arxiv.org/abs/1709.01507",
    "cbam": "Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018, https://arxiv.org/abs/1807.06521",
    "eca": "Wang et al., ECA-Net: Efficient Channel Attention, CVPR 2020, https://arxiv.org/abs/1910.03151",
    "none": "He et al., Deep Residual Learning for Image Recognition, CVPR 2016, https://arxiv.org/abs/1512.03385",
}
MAX_SHOWN_NAME = 60  # a file name as titles and messages show it


def shown_name(name: str, limit: int = MAX_SHOWN_NAME) -> str:
    """A user's file name as text to show: control characters spelled out, at most ``limit`` characters."""
    text = name if name.isprintable() else repr(name)[1:-1]
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep - keep // 3] + "…" + text[len(text) - keep // 3 :]


@dataclass(frozen=True)
class UploadedCheckpoint:
    """What was registered: the file, what its keys said, what was assumed, what it costs, and whose it is."""

    name: str
    path: str
    sha256: str
    size_bytes: int
    inference: Inference
    labels: str  # where the class names came from, in words
    timings: dict[str, float] = field(default_factory=dict)
    owner: str | None = None
    memory_bytes: int = 0

    @property
    def file(self) -> str:
        return shown_name(Path(self.path).name)

    @property
    def title(self) -> str:
        inf, k = self.inference, self.inference.config.num_classes
        how = f"as {inf.arch}" if inf.arch else inf.layout.title
        return f"{inf.family} ({how}, {k} class{'es' if k != 1 else ''}, from {self.file})"

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready record of where the weights came from and what was inferred (result files carry it)."""
        inf = self.inference
        return {
            "name": self.name,
            "title": self.title,
            "file": self.file,
            "path": self.path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "memory_bytes": self.memory_bytes,
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


@dataclass(frozen=True)
class _Net:
    """One built network and what every name that uses it shares."""

    model: nn.Module
    inference: Inference
    labels_spec: str
    labels_text: str
    memory_bytes: int
    read_s: float


_STORE = UploadStore()
_LOCK = threading.RLock()
_FILE_LOCKS = tuple(threading.Lock() for _ in range(64))  # one per digest prefix: the same file registers once
_DIGESTS: OrderedDict[tuple[str, int, int], str] = OrderedDict()  # (resolved path, size, mtime_ns) → sha256
MAX_DIGESTS = 4096
_BY_OPTIONS: dict[tuple[object, ...], str] = {}  # (owner, network key, name) → registered name
_RECORDS: dict[str, UploadedCheckpoint] = {}
_NETS: dict[Hashable, _Net] = {}
_LISTENERS: list[Callable[[list[str]], None]] = []


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
        while len(_DIGESTS) > MAX_DIGESTS:
            _DIGESTS.popitem(last=False)
    return cached


def on_forgotten(listener: Callable[[list[str]], None]) -> None:
    """Call ``listener(names)`` whenever registered names are dropped (the pipeline forgets its loaded copies)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def _name_for(path: Path, sha256: str, net: tuple[object, ...], owner: str | None) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.name.split(".")[0])[:40].strip("._-") or "checkpoint"
    if owner is not None:
        return f"upload:{stem}-{secrets.token_hex(12)}"  # unguessable: the owner's key to it
    name = f"upload:{stem}-{sha256[:8]}"
    if any(net[1:]):  # another architecture, labels or preprocessing: another model from the same bytes
        name += "-" + hashlib.sha256(repr(net[1:]).encode()).hexdigest()[:6]
    return name


def register_checkpoint(
    path: str | os.PathLike[str],
    arch: str | None = None,
    labels: LabelsArg = None,
    name: str | None = None,
    preprocess: Preprocess | None = None,
    owner: str | None = None,
) -> str:
    """Judge, infer, build, strictly load and register a user's checkpoint for ``owner``; returns its name.

    ``arch`` names a registered architecture to load it into instead of inferring one (the checkpoint's
    class count replaces the architecture's). ``labels``: a text file (one name per line) or a sequence
    of names, as many as the classes; default the architecture's own names when the count matches, else
    ImageNet-1k for 1000 classes / Kinetics-400 for 400-class clip models, else ``class 0..K-1``.
    ``owner``: who may see and use it (``None``: everyone in this process). Older networks of the same
    owner, or anyone's least recently used ones, are dropped to stay within the budgets (``upload_store``).
    Raises ``WeightsError`` / ``InputError`` / ``ModelNotFoundError`` with a sentence a person can act on.
    """
    path = Path(path)
    shown = shown_name(path.name)
    size = check_size(path, shown=shown)  # before hashing: an oversized upload is refused without being read
    t0 = time.perf_counter()
    sha256 = file_sha256(path)
    hashed = time.perf_counter()
    label_names = read_labels(labels) if labels is not None else None
    net_key = (sha256, arch, label_names, preprocess)
    options_key = (owner, net_key, name)
    if name is not None and name not in _RECORDS and _is_registered(name):
        raise VisualiserError(f"the model name {shown_name(name)!r} is taken; choose another name")
    with _FILE_LOCKS[int(sha256[:8], 16) % len(_FILE_LOCKS)]:
        known = _BY_OPTIONS.get(options_key)
        if known is not None and _STORE.visible(known, owner):
            return known
        started = time.perf_counter()
        net = _NETS.get(net_key)
        if net is None:
            net = _build(path, shown, owner, net_key, arch, label_names, labels, preprocess)
        else:
            _drop(_STORE.reserve(owner, net_key, net.memory_bytes, shown))
        loaded = time.perf_counter()
        timings = {"hash_s": hashed - t0, "read_s": net.read_s, "total_s": hashed - t0 + loaded - started}
        chosen = name or _name_for(path, sha256, net_key, owner)
        upload = UploadedCheckpoint(
            chosen, str(path), sha256, size, net.inference, net.labels_text, timings, owner, net.memory_bytes
        )
        with _LOCK:
            if chosen in _RECORDS or _is_registered(chosen):
                _STORE.release(net_key)
                _forget_unused_nets()
                raise VisualiserError(f"the model name {shown_name(chosen)!r} is taken; choose another name")
            register(_spec(upload, net))
            _STORE.admit(chosen, owner, net_key, net.memory_bytes)
            _NETS[net_key] = net  # again: making room may have dropped the last other name that used it
            _RECORDS[chosen] = upload
            _BY_OPTIONS[options_key] = chosen
        return chosen


def _build(
    path: Path,
    shown: str,
    owner: str | None,
    net_key: tuple[object, ...],
    arch: str | None,
    label_names: tuple[str, ...] | None,
    labels: LabelsArg,
    preprocess: Preprocess | None,
) -> _Net:
    """Everything judged from what the file declares; then room made; then the tensors read into the module."""
    started = time.perf_counter()
    checkpoint = open_checkpoint(path, shown=shown)
    shapes = checkpoint.shapes
    inference = _arch_inference(arch, shapes) if arch else infer_architecture(shapes, shown)
    if preprocess is not None:
        inference = dataclasses.replace(inference, preprocess=preprocess)
    labels_spec, labels_text = choose_labels(label_names, labels, inference)
    model, theirs = _meta_model(inference, shapes, shown)
    nbytes = checkpoint.float32_bytes()
    _drop(_STORE.reserve(owner, net_key, nbytes, shown))
    try:
        _fill(model, checkpoint, theirs, shown)
    except BaseException:
        _STORE.release(net_key)
        raise
    net = _Net(model.eval(), inference, labels_spec, labels_text, nbytes, time.perf_counter() - started)
    with _LOCK:
        _NETS[net_key] = net
    return net


def build_and_load(inference: Inference, state: Mapping[str, torch.Tensor], source: str) -> nn.Module:
    """Our module for ``inference.config`` holding ``state``'s tensors (keys as saved), in eval mode.

    Every key and shape is checked against the module built on the meta device before anything is loaded.
    """
    model, theirs = _meta_model(inference, shapes_of(state), source)
    ours = {key: state[theirs[key]] for key in theirs}
    return load_into(model, ours, source, assign=True).eval()


def fit_checkpoint(model: nn.Module, inference: Inference, shapes: Mapping[str, object], source: str) -> dict[str, str]:
    """``{our key: the checkpoint's key}`` if every key and shape fits ``model`` (meta is fine); else WeightsError.

    The error names the keys and shapes that differ, in the checkpoint's own names where it has them.
    """
    given = shapes_of(shapes)
    theirs = rename_keys(given, inference.layout.key_map)
    how = f"{inference.arch}'s architecture" if inference.arch else f"{inference.family} ({inference.layout.title})"
    check_fit(
        shapes_of(model.state_dict()),
        renamed_shapes(given, inference.layout.key_map),
        f"{source} comes closest to {how} but does not fit it",
        original=theirs,
    )
    return theirs


def _meta_model(inference: Inference, shapes: Mapping[str, object], source: str) -> tuple[nn.Module, dict[str, str]]:
    import torch

    with torch.device("meta"):  # no memory: only the structure, to compare keys and shapes
        model = _module(inference.config)
    return model, fit_checkpoint(model, inference, shapes, source)


def _fill(model: nn.Module, checkpoint: Checkpoint, theirs: dict[str, str], source: str) -> None:
    """Stream the tensors (float32, finite) into the meta-built module: one strict load, no second copy."""
    ours = {v: k for k, v in theirs.items()}
    state = {ours[key]: tensor for key, tensor in checkpoint.tensors(iter(ours))}
    load_into(model, state, source, assign=True)


def _is_registered(name: str) -> bool:
    try:
        get_spec(name)
    except ModelNotFoundError:
        return False
    return True


def check_access(name: str | None, owner: str | None) -> None:
    """Let ``owner`` use ``name``, or raise: an unknown model (never naming another owner's), or "upload it again"."""
    if name is None or _STORE.visible(name, owner):
        return
    if _STORE.evicted_from(name, owner):
        raise _evicted(name)
    if name in _RECORDS or not _is_registered(name) or get_spec(name).owner not in (None, owner):
        raise unknown_model(name, owner)


def require_loaded(name: str) -> None:
    """Raise "upload it again" for a name that was dropped from memory (one from the caller's own stored result)."""
    if name not in _RECORDS and _STORE.was_evicted(name):
        raise _evicted(name)


def _evicted(name: str) -> WeightsError:
    return WeightsError(
        f"your uploaded network {shown_name(name)} is no longer in memory: the server dropped it to make room "
        "for newer uploads; upload it again"
    )


def checkpoint_info(name: str) -> UploadedCheckpoint:
    """What ``register_checkpoint`` recorded for ``name``."""
    try:
        return _RECORDS[name]
    except KeyError:
        raise ModelNotFoundError(f"{shown_name(str(name))!r} is not a registered checkpoint") from None


def uploaded_names(owner: str | EllipsisType | None = ...) -> list[str]:
    """Names registered from checkpoints, oldest first: all of them, or ``owner``'s."""
    return _STORE.all_names() if isinstance(owner, EllipsisType) else _STORE.names_of(owner)


def unregister_checkpoint(name: str) -> None:
    """Forget a registered checkpoint (its spec; its module when no other name uses it); unknown names: nothing."""
    _drop([name])


def forget_owner(owner: str | None) -> None:
    """Drop every network ``owner`` uploaded (their session ended)."""
    if owner is not None:
        _drop(_STORE.names_of(owner))


def _drop(names: list[str]) -> None:
    """Unregister ``names``, free the networks no name uses, tell the listeners and give the memory back."""
    if not names:
        return
    _STORE.forget(names)
    with _LOCK:
        for name in names:
            if _RECORDS.pop(name, None) is not None:
                unregister(name)
            for key in [k for k, v in _BY_OPTIONS.items() if v == name]:
                del _BY_OPTIONS[key]
        freed = _forget_unused_nets()
    for listener in list(_LISTENERS):
        listener(list(names))
    if freed:
        release_memory()


def _forget_unused_nets() -> int:
    with _LOCK:
        unused = [key for key in _NETS if not _STORE.has_net(key)]
        for key in unused:
            del _NETS[key]
    return len(unused)


def _spec(upload: UploadedCheckpoint, net: _Net) -> ModelSpec:
    inf = upload.inference
    model = net.model

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
            location=upload.file,
            checksum=f"sha256:{upload.sha256}",
            key_map=inf.layout.key_map,
            size_mb=round(upload.size_bytes / 1e6, 1),
        ),
        preprocess=inf.effective_preprocess,
        labels=net.labels_spec,
        attention=config.attn,
        citation=_CITATIONS[config.attn],
        license="the uploader's own checkpoint",
        description=(
            f"Read from the keys: {'; '.join(inf.read)}. Assumed ({inf.layout.title} convention): "
            f"{'; '.join(inf.assumed)}. Labels: {upload.labels}."
        ),
        domain=f"your checkpoint {upload.file}: {config.num_classes} classes ({upload.labels})",
        provided_by_user=True,
        owner=upload.owner,
    )


def _arch_inference(arch: str, shapes: Mapping[str, tuple[int, ...]]) -> Inference:
    """The registered architecture ``arch`` (one of the app's own, never an upload) with the checkpoint's classes."""
    import torch

    from visualiser.models.infer import canonical_config

    spec = get_spec(arch)
    if spec.provided_by_user or spec.owner is not None:
        raise unknown_model(arch)
    with torch.device("meta"):  # only its config is needed
        config = getattr(spec.builder(), "cfg", None)
    if not isinstance(config, ResNetConfig | VideoResNetConfig):
        raise WeightsError(f"{arch!r} is not one of our ResNets, so a checkpoint cannot be loaded into it by name")
    layout = BY_KEY_MAP.get(spec.weights.key_map, BY_KEY_MAP["identity"])
    layout = dataclasses.replace(layout, task=spec.task, preprocess=spec.preprocess, preprocess_note="as " + arch)
    classes = classifier_size(shapes, layout.key_map)
    base = spec.title.split(" (")[0]
    read = (f"{classes} classes (the rest of the architecture is {arch}'s)",)
    assumed = (f"architecture, key names and preprocessing of {arch} ({spec.title})",)
    return Inference(layout, canonical_config(with_classes(config, classes)), base, read, assumed, arch=arch)


def _module(config: Config) -> nn.Module:
    if isinstance(config, VideoResNetConfig):
        from visualiser.models.video_resnet import build_video_resnet

        return build_video_resnet(config)
    from visualiser.models.resnet import build_resnet

    return build_resnet(config)
