"""Offline, a hub download fails at once: one HEAD without retries, and the failed connection is remembered.

``hf_hub_download`` retries a failed connection with back-off (about 24 s on a machine without network, on every
click). Here the hub is pointed at a port nothing listens on: the first fetch must give up after one request
and never reach the retrying download, the next must not touch the network at all, and the model list must
say which command brings the weights.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.weights import hub_spec
from visualiser.models.weights import fetch_weights
from visualiser.models.weights import hub as hub_module
from visualiser.models.weights.messages import WeightsUnavailableError, forget_unreachable


@pytest.fixture()
def dead_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The hub library pointed at a closed port, online as far as it knows; records every HEAD and download."""
    import huggingface_hub
    from huggingface_hub import constants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", f"http://127.0.0.1:{port}/{{repo_id}}/resolve/{{revision}}/{{filename}}"
    )
    calls: list[str] = []
    real_head = huggingface_hub.get_hf_file_metadata

    def head(*args: object, **kwargs: object) -> object:
        calls.append("HEAD")
        return real_head(*args, **kwargs)

    def download(*args: object, **kwargs: object) -> str:
        calls.append("download")
        raise AssertionError("the retrying download must not be reached when the hub cannot be reached")

    # patched where the weights code looks them up (it imports them at module level)
    monkeypatch.setattr(hub_module, "get_hf_file_metadata", head)
    monkeypatch.setattr(hub_module, "hf_hub_download", _local_only(huggingface_hub.hf_hub_download, download))
    forget_unreachable()
    try:
        yield calls
    finally:
        forget_unreachable()


def _local_only(real, fail):
    """``hf_hub_download`` that still answers cache look-ups (``local_files_only``) but refuses downloads."""

    def call(*args: object, **kwargs: object) -> str:
        if kwargs.get("local_files_only"):
            return real(*args, **kwargs)
        return fail(*args, **kwargs)

    return call


def test_an_unreachable_hub_fails_after_one_request_and_is_remembered(dead_hub: list[str]) -> None:
    spec = hub_spec()
    assert hub_module.hub_reachable()
    with pytest.raises(WeightsUnavailableError) as first:
        fetch_weights(spec)
    assert dead_hub == ["HEAD"]  # one request, no retry ladder, no download
    assert first.value.model == spec.name and "could not be reached" in first.value.reason
    assert "--from" in first.value.message  # how to bring the file over by hand
    assert not hub_module.hub_reachable()
    with pytest.raises(WeightsUnavailableError) as second:
        fetch_weights(spec)
    assert dead_hub == ["HEAD"]  # remembered: no network at all the second time
    assert "not tried again" in second.value.reason


def test_the_model_list_says_which_command_brings_absent_weights(dead_hub: list[str], fake_models) -> None:
    from visualiser import catalogue
    from visualiser.models.registry import get_spec

    name = "seresnet50.a1_in1k"
    before = dict((v, t) for t, v in catalogue.model_choices("image"))[name]
    assert "download on first use" in before and catalogue.runnable(name)
    with pytest.raises(WeightsUnavailableError):
        fetch_weights(get_spec(name))
    after = dict((v, t) for t, v in catalogue.model_choices("image"))[name]
    assert after.endswith(f"not on this machine: python -m visualiser fetch {name}")
    assert not catalogue.runnable(name) and catalogue.photo_model() is None  # no switch to a model that cannot run


def test_hf_hub_offline_refuses_without_any_request(dead_hub: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError, match="HF_HUB_OFFLINE"):
        fetch_weights(hub_spec())
    assert dead_hub == []
