"""Checkpoint key layouts → this project's names: one rule table per layout that published the weights.

Checkpoints name their tensors after the code that trained them; ``remap_state_dict`` turns each known layout
into ours (timm's names for 2-D ResNets, torchvision's for video ResNets; see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError

if TYPE_CHECKING:  # torch loads on first use, so building the UI (model lists, availability) stays fast
    import torch

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
    import torch  # the weights package is read while the page is built, before torch loads

    inner = sd.get("state_dict") if isinstance(sd, Mapping) else None
    if isinstance(inner, Mapping):
        sd = inner
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if not isinstance(value, torch.Tensor):
            continue  # training bookkeeping saved next to the weights (epoch, arch, optimizer...)
        out[key.removeprefix("module.")] = value
    return out


def rename_keys(keys: Iterable[str], key_map: str) -> dict[str, str]:
    """``{our name: the checkpoint's name}`` for keys in the layout ``key_map`` names (shapes need no tensors)."""
    if key_map not in KEY_MAPS:
        raise ValueError(f"unknown key map {key_map!r}; known: {', '.join(sorted(KEY_MAPS))}")
    rules = KEY_MAPS[key_map]
    pytorchcv = key_map.startswith("pytorchcv")
    out: dict[str, str] = {}
    for key in keys:
        new = _STAGE_UNIT.sub(_stage_unit, key) if pytorchcv else key
        for pattern, replacement in rules:
            new = pattern.sub(replacement, new)
        if new in out:
            raise WeightsError(f"two checkpoint keys map to {new!r} under key map {key_map!r}")
        out[new] = key
    return out


def remap_state_dict(sd: Mapping[str, torch.Tensor], key_map: str) -> dict[str, torch.Tensor]:
    """Rename a checkpoint's keys from the layout ``key_map`` names into this project's layout."""
    state = unwrap_checkpoint(sd)
    return {ours: state[theirs] for ours, theirs in rename_keys(state, key_map).items()}
