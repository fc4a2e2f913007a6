"""Our state_dict keys rewritten into other codebases' layouts, to make checkpoints as those codebases save them.

Written for the tests from the layouts' published key lists (``tests/fixtures/reference/*.json``) and the
rename tables those codebases publish, independently of the project's
``weights.KEY_MAPS`` (which go the other way). ``test_checkpoints.py`` checks each against the fixtures:
our zoo model's keys, rewritten, are exactly the publisher's key list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

_BLOCK = re.compile(r"^layer(\d+)\.(\d+)\.(.*)$")

_PYTORCHCV_BLOCK = (
    (r"^conv(\d)\.", r"body.conv\1.conv."),
    (r"^bn(\d)\.", r"body.conv\1.bn."),
    (r"^downsample\.0\.", "identity_conv.conv."),
    (r"^downsample\.1\.", "identity_conv.bn."),
    (r"^se\.fc(\d)\.", r"se.conv\1."),
    (r"^se\.channel\.fc(\d)\.", r"cbam.ch_gate.mlp.fc\1."),
    (r"^se\.spatial\.conv\.(conv|bn)\.", r"cbam.sp_gate.conv.\1."),
)
_OFFICIAL_CBAM_BLOCK = (
    (r"^se\.channel\.fc1\.", "cbam.ChannelGate.mlp.1."),
    (r"^se\.channel\.fc2\.", "cbam.ChannelGate.mlp.3."),
    (r"^se\.spatial\.conv\.conv\.", "cbam.SpatialGate.spatial.conv."),
    (r"^se\.spatial\.conv\.bn\.", "cbam.SpatialGate.spatial.bn."),
)


def _apply(rules: tuple[tuple[str, str], ...], text: str) -> str:
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text)
    return text


def _legacy(key: str) -> str:
    for ours, theirs in (("conv1.", "layer0.conv1."), ("bn1.", "layer0.bn1."), ("fc.", "last_linear.")):
        if key.startswith(ours):
            return theirs + key.removeprefix(ours)
    return key.replace(".se.", ".se_module.")


def _pytorchcv(key: str) -> str:
    for ours, theirs in (
        ("conv1.", "features.init_block.conv.conv."),
        ("bn1.", "features.init_block.conv.bn."),
        ("fc.", "output."),
    ):
        if key.startswith(ours):
            return theirs + key.removeprefix(ours)
    found = _BLOCK.match(key)
    if not found:
        return key
    stage, block, rest = found.groups()
    return f"features.stage{stage}.unit{int(block) + 1}." + _apply(_PYTORCHCV_BLOCK, rest)


def _official_cbam(key: str) -> str:
    found = _BLOCK.match(key)
    if not found:
        return key
    stage, block, rest = found.groups()
    return f"layer{stage}.{block}." + _apply(_OFFICIAL_CBAM_BLOCK, rest)


RENAMERS = {
    "timm": lambda key: key,
    "legacy_senet": _legacy,
    "pytorchcv": _pytorchcv,
    "official_cbam": _official_cbam,
    "torchvision_video": lambda key: key,
}


def to_layout(state: Mapping[str, torch.Tensor], layout: str) -> dict[str, torch.Tensor]:
    """``state`` (our key names) with its keys as ``layout``'s code names them."""
    rename = RENAMERS[layout]
    return {rename(key): value for key, value in state.items()}
