"""Pretrained weights: find or download them, verify them, rename their keys, load them strictly.

Three places weights live (``WeightsSource.kind``):

* ``embedded``: a file under ``assets/`` shipped with the project;
* ``hub``: a Hugging Face repo, through ``huggingface_hub`` (honours ``HF_HOME``,
  ``HF_HUB_OFFLINE`` and its own cache);
* ``url``: a plain download into ``$VISUALISER_CACHE`` (default ``~/.cache/attention-visualiser``),
  checked against a SHA-1 / SHA-256 (prefix) checksum, unzipped if needed, and moved into place
  atomically so that an interrupted download never leaves a file that looks complete.

Checkpoints name their tensors after the code that trained them; ``remap_state_dict`` turns
each known layout into ours (see docs/ARCHITECTURE.md), and ``load_into`` refuses anything that
does not fit exactly, naming the keys, because a silently half-loaded network still predicts
something and that something is wrong.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError
from visualiser.models.registry import ModelSpec, WeightsSource
from visualiser.paths import ASSETS_DIR

if TYPE_CHECKING:  # torch loads on first use, so building the UI (model lists, availability) stays fast
    import torch
    from torch import nn

DOWNLOAD_TIMEOUT_S = 60.0
_CHUNK = 1 << 20

# ---------------------------------------------------------------------------------------------
# Key remapping
# ---------------------------------------------------------------------------------------------

Rule = tuple[re.Pattern[str], str]


def _rules(*pairs: tuple[str, str]) -> tuple[Rule, ...]:
    return tuple((re.compile(pattern), replacement) for pattern, replacement in pairs)


def _stage_unit(match: re.Match[str]) -> str:
    return f"layer{match.group(1)}.{int(match.group(2)) - 1}."


_PYTORCHCV_BACKBONE = _rules(
    (r"^features\.init_block\.conv\.conv\.", "conv1."),
    (r"^features\.init_block\.conv\.bn\.", "bn1."),
    (r"\.body\.conv(\d)\.conv\.", r".conv\1."),
    (r"\.body\.conv(\d)\.bn\.", r".bn\1."),
    (r"\.identity_conv\.conv\.", ".downsample.0."),
    (r"\.identity_conv\.bn\.", ".downsample.1."),
    (r"^output\.", "fc."),
)

KEY_MAPS: dict[str, tuple[Rule, ...]] = {
    "identity": (),
    "timm": (),
    "torchvision_video": (),
    # SENet authors' / Cadene / timm legacy_seresnet*: layer0.{conv1,bn1}, se_module, last_linear.
    "legacy_senet": _rules(
        (r"^layer0\.conv1\.", "conv1."),
        (r"^layer0\.bn1\.", "bn1."),
        (r"\.se_module\.", ".se."),
        (r"^last_linear\.", "fc."),
    ),
    # pytorchcv / imgclsmob cbam_resnet*: features.stageS.unitU.{body,identity_conv,cbam}, output.
    "pytorchcv_cbam": _PYTORCHCV_BACKBONE
    + _rules(
        (r"\.cbam\.ch_gate\.mlp\.fc(\d)\.", r".se.channel.fc\1."),
        (r"\.cbam\.sp_gate\.conv\.conv\.", ".se.spatial.conv.conv."),
        (r"\.cbam\.sp_gate\.conv\.bn\.", ".se.spatial.conv.bn."),
    ),
    # pytorchcv seresnet*: SE is unitU.se.conv{1,2} (1x1 convs with bias).
    "pytorchcv_seresnet": _PYTORCHCV_BACKBONE + _rules((r"\.se\.conv(\d)\.", r".se.fc\1.")),
    # Jongchan/attention-module (official CBAM): torchvision backbone, cbam.ChannelGate / SpatialGate.
    "official_cbam": _rules(
        (r"\.cbam\.ChannelGate\.mlp\.1\.", ".se.channel.fc1."),
        (r"\.cbam\.ChannelGate\.mlp\.3\.", ".se.channel.fc2."),
        (r"\.cbam\.SpatialGate\.spatial\.conv\.", ".se.spatial.conv.conv."),
        (r"\.cbam\.SpatialGate\.spatial\.bn\.", ".se.spatial.conv.bn."),
    ),
}
_STAGE_UNIT = re.compile(r"^features\.stage(\d+)\.unit(\d+)\.")


def unwrap_checkpoint(sd: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """The bare tensor mapping: unwraps ``{'state_dict': ...}`` and strips DataParallel's ``module.``."""
    import torch

    inner = sd.get("state_dict") if isinstance(sd, Mapping) else None
    if isinstance(inner, Mapping):
        sd = inner
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if not isinstance(value, torch.Tensor):
            continue  # training bookkeeping saved next to the weights (epoch, arch, optimizer...)
        out[key.removeprefix("module.")] = value
    return out


def remap_state_dict(sd: Mapping[str, torch.Tensor], key_map: str) -> dict[str, torch.Tensor]:
    """Rename a checkpoint's keys from the layout ``key_map`` names into this project's layout."""
    if key_map not in KEY_MAPS:
        raise ValueError(f"unknown key map {key_map!r}; known: {', '.join(sorted(KEY_MAPS))}")
    rules = KEY_MAPS[key_map]
    pytorchcv = key_map.startswith("pytorchcv")
    out: dict[str, torch.Tensor] = {}
    for key, value in unwrap_checkpoint(sd).items():
        new = _STAGE_UNIT.sub(_stage_unit, key) if pytorchcv else key
        for pattern, replacement in rules:
            new = pattern.sub(replacement, new)
        if new in out:
            raise WeightsError(f"two checkpoint keys map to {new!r} under key map {key_map!r}")
        out[new] = value
    return out


# ---------------------------------------------------------------------------------------------
# Strict loading
# ---------------------------------------------------------------------------------------------


def _first(items: list[str], n: int = 10) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def load_into(model: nn.Module, sd: Mapping[str, torch.Tensor], source_desc: str) -> nn.Module:
    """Load ``sd`` into ``model`` exactly: every key present, none extra, every shape equal.

    Only BatchNorm's ``num_batches_tracked`` counters may be absent (older checkpoints lack them;
    they do not affect evaluation). Raises WeightsError naming what does not fit.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    wrong_shape = [
        f"{k} {tuple(sd[k].shape)} vs {tuple(expected[k].shape)}"
        for k in sd
        if k in expected and tuple(sd[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing keys: {_first(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_first(unexpected)}")
        if wrong_shape:
            parts.append(f"shape mismatches (checkpoint vs model): {_first(wrong_shape)}")
        raise WeightsError(f"the weights from {source_desc} do not fit the architecture; " + "; ".join(parts))
    full = dict(sd)
    for key, value in expected.items():
        full.setdefault(key, value)  # only num_batches_tracked can be absent here
    model.load_state_dict(full, strict=True)
    return model


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a ``.safetensors`` file or a ``.pth`` (loaded with ``weights_only=True``)."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        if path.suffix == ".safetensors":
            return load_file(str(path), device="cpu")
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise WeightsError(f"the weights file {path} cannot be read ({e}); delete it and fetch it again") from e
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"the weights file {path} holds a {type(loaded).__name__}, not a state_dict")
    return unwrap_checkpoint(loaded)


# ---------------------------------------------------------------------------------------------
# Checksums and the download cache
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where URL downloads are kept: ``$VISUALISER_CACHE`` or ``~/.cache/attention-visualiser``."""
    configured = os.environ.get("VISUALISER_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "attention-visualiser"


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algo, _, digest = checksum.partition(":")
    digest = digest.lower()
    if algo not in ("sha1", "sha256") or len(digest) < 8 or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"checksum must be 'sha1:<hex>' or 'sha256:<hex>' with at least 8 digits, not {checksum!r}")
    return algo, digest


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algo)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def checksum_matches(path: Path, checksum: str | None) -> bool:
    """Whether ``path`` hashes to ``checksum`` (full digest or a prefix of it); no checksum → True."""
    if checksum is None:
        return True
    algo, expected = _parse_checksum(checksum)
    return file_digest(path, algo).startswith(expected)


def cached_filename(source: WeightsSource) -> str:
    """The name the payload gets in the cache: ``filename``, else the URL's last part minus ``.zip``."""
    name = source.filename or source.location.rstrip("/").rsplit("/", 1)[-1]
    if source.archive == "zip":
        name = name.removesuffix(".zip")
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"cannot derive a cache file name from {source.location!r}")
    return name


def _unavailable(spec: ModelSpec, where: str, reason: str) -> WeightsError:
    return WeightsError(
        f"weights for {spec.name!r} are not on this machine and could not be downloaded from {where} ({reason}). "
        f"Use an embedded model, or run `python -m visualiser fetch {spec.name}` where there is internet."
    )


def _short(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as out:
        expected = response.headers.get("Content-Length")
        shutil.copyfileobj(response, out, _CHUNK)
    if expected is not None and dest.stat().st_size != int(expected):
        raise http.client.IncompleteRead(b"", int(expected) - dest.stat().st_size)


def _unzip_member(archive: Path, member_name: str, dest: Path) -> None:
    """Copy the archive's ``member_name`` (or its only ``.pth``) to ``dest`` without trusting member paths."""
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        chosen = [n for n in names if n.rsplit("/", 1)[-1] == member_name]
        if not chosen:
            chosen = [n for n in names if n.endswith((".pth", ".pt", ".safetensors"))]
        if len(chosen) != 1:
            raise WeightsError(f"the archive holds {names}, not one weights file named {member_name!r}")
        with zf.open(chosen[0]) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)


def _fetch_url(spec: ModelSpec, allow_download: bool) -> Path:
    source = spec.weights
    directory = cache_dir()
    target = directory / cached_filename(source)
    if target.is_file():
        if checksum_matches(target, source.checksum):
            return target
        target.unlink()  # corrupt or from an interrupted copy: fetch it again
    if not allow_download:
        raise _unavailable(spec, source.location, "downloads are turned off")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the weights cache {directory} ({e}); set VISUALISER_CACHE") from e
    temporaries: list[Path] = []

    def temporary(suffix: str) -> Path:
        fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=suffix)
        os.close(fd)
        temporaries.append(Path(name))
        return temporaries[-1]

    try:
        download = temporary(".part")
        try:
            _download(source.location, download)
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise _unavailable(spec, source.location, _short(e)) from e
        payload = download
        if source.archive == "zip":
            payload = temporary(".unzipped")
            try:
                _unzip_member(download, target.name, payload)
            except (zipfile.BadZipFile, OSError) as e:
                raise WeightsError(f"the download from {source.location} is not a valid zip archive ({e})") from e
        if not checksum_matches(payload, source.checksum):
            algo, expected = _parse_checksum(source.checksum or "")
            raise WeightsError(
                f"the weights downloaded from {source.location} are corrupt or have changed: {algo} "
                f"{file_digest(payload, algo)[: max(len(expected), 8)]} does not match the expected {expected}"
            )
        payload.replace(target)
        return target
    finally:
        for path in temporaries:
            path.unlink(missing_ok=True)


def _hub_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a hub download raises when offline or unreachable (its HTTP stack varies by version)."""
    from huggingface_hub.errors import EntryNotFoundError

    errors: list[type[BaseException]] = [OSError, ValueError, EntryNotFoundError]
    for module_name in ("httpx2", "httpx", "requests"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        for attr in ("HTTPError", "RequestException"):
            cls = getattr(module, attr, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                errors.append(cls)
    return tuple(errors)


def _fetch_hub(spec: ModelSpec, allow_download: bool) -> Path:
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    source = spec.weights
    filename = source.filename or "model.safetensors"
    where = f"https://huggingface.co/{source.location}"
    try:
        return Path(hf_hub_download(source.location, filename, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    if not allow_download:
        raise _unavailable(spec, where, "downloads are turned off")
    offline_env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    if getattr(constants, "HF_HUB_OFFLINE", False) or offline_env:
        raise _unavailable(spec, where, "HF_HUB_OFFLINE is set and the file is not in the Hugging Face cache")
    try:
        return Path(hf_hub_download(source.location, filename))
    except _hub_errors() as e:
        raise _unavailable(spec, where, _short(e)) from e


def fetch_weights(spec: ModelSpec, allow_download: bool = True) -> Path:
    """A local, verified path to ``spec``'s weights, downloading them first if needed and allowed."""
    source = spec.weights
    if source.kind == "none":
        raise WeightsError(f"model {spec.name!r} has no pretrained weights")
    if source.kind == "embedded":
        path = ASSETS_DIR / source.location
        if not path.is_file():
            raise WeightsError(
                f"the embedded weights of {spec.name!r} ({path}) are missing; reinstall the project or "
                f"retrain them with `python -m visualiser train {spec.name}`"
            )
        if not checksum_matches(path, source.checksum):
            raise WeightsError(f"the embedded weights of {spec.name!r} ({path}) do not match their checksum")
        return path
    if source.kind == "hub":
        path = _fetch_hub(spec, allow_download)
    elif source.kind == "url":
        path = _fetch_url(spec, allow_download)
    else:
        raise ValueError(f"unknown weights kind {source.kind!r}")
    if source.kind == "hub" and not checksum_matches(path, source.checksum):
        raise WeightsError(f"the weights of {spec.name!r} at {path} do not match their checksum; delete and refetch")
    return path


def weights_available(spec: ModelSpec) -> bool:
    """Whether the weights are on this machine already (a cheap look, without hashing or network)."""
    source = spec.weights
    if source.kind == "none":
        return True
    if source.kind == "embedded":
        return (ASSETS_DIR / source.location).is_file()
    if source.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(source.location, source.filename or "model.safetensors")
        return isinstance(found, str) and Path(found).is_file()
    if source.kind == "url":
        target = cache_dir() / cached_filename(source)
        return target.is_file() and target.stat().st_size > 0
    return False


def load_pretrained(model: nn.Module, spec: ModelSpec, allow_download: bool = True) -> nn.Module:
    """Fetch, read, remap and strictly load ``spec``'s weights into ``model``."""
    path = fetch_weights(spec, allow_download=allow_download)
    state = remap_state_dict(read_state_dict(path), spec.weights.key_map)
    return load_into(model, state, f"{path} ({spec.name})")
