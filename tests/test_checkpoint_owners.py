"""Uploaded networks belong to whoever uploaded them: listed, usable and evicted per owner, within memory budgets."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tests.support import hostile
from visualiser import catalogue, pipeline
from visualiser.errors import ModelNotFoundError, WeightsError
from visualiser.models import uploads
from visualiser.models.registry import get_spec, list_specs
from visualiser.models.upload_store import MAX_UPLOADED_ENV, SESSION_MB_ENV, TOTAL_MB_ENV
from visualiser.models.uploads import check_access, forget_owner, register_checkpoint, uploaded_names
from visualiser.paths import REPO_ROOT

A, B, C = "session-a", "session-b", "session-c"


@pytest.fixture(autouse=True)
def forget_uploads():
    yield
    for name in uploaded_names():
        uploads.unregister_checkpoint(name)


@pytest.fixture()
def files(tmp_path: Path) -> list[Path]:
    return [hostile.good_checkpoint(tmp_path, f"net{i}.safetensors", seed=i) for i in range(4)]


def _net_bytes(path: Path) -> int:
    return uploads.checkpoint_info(register_checkpoint(path, owner="probe")).memory_bytes


def test_an_owners_network_has_an_unguessable_name_and_is_listed_to_that_owner_only(files):
    mine = register_checkpoint(files[0], owner=A)
    theirs = register_checkpoint(files[0], owner=B)  # the same file, another visitor
    assert re.fullmatch(r"upload:net0-[0-9a-f]{24}", mine) and mine != theirs
    assert get_spec(mine).builder() is get_spec(theirs).builder()  # one module in memory for both
    assert uploaded_names(A) == [mine] and uploaded_names(B) == [theirs]
    assert [n for _, n in catalogue.model_choices("image", owner=A) if n.startswith("upload:")] == [mine]
    assert not any(n.startswith("upload:") for _, n in catalogue.model_choices("image"))  # a new visitor's list
    assert not any(n == mine for _, n in catalogue.clip_model_choices(owner=B))
    assert mine not in {s.name for s in list_specs()}
    assert register_checkpoint(files[0], owner=A) == mine  # the same upload again: the same name, not read again


def test_another_owners_network_is_an_unknown_model_whose_message_lists_none_of_theirs(files):
    mine = register_checkpoint(files[0], owner=A)
    own_b = register_checkpoint(files[1], owner=B)
    check_access(mine, A)
    seen = {}
    for intruder in (B, None):
        with pytest.raises(ModelNotFoundError) as caught:
            check_access(mine, intruder)
        message = seen[intruder] = str(caught.value)
        assert message.startswith(f"unknown model {mine!r}; known models:")
        listed = message.split("known models:")[1]
        assert "net0" not in listed and (own_b in listed) == (intruder == B)
    with pytest.raises(ModelNotFoundError) as never:
        check_access("upload:net0-" + "0" * 24, B)  # a made-up name reads exactly like someone else's
    assert str(never.value).split(";")[1] == seen[B].split(";")[1]
    check_access("shapes_cbam", B)  # the app's own models are everyone's


def test_an_owners_oldest_network_is_evicted_and_its_owner_is_asked_to_upload_it_again(files, monkeypatch):
    monkeypatch.setenv(MAX_UPLOADED_ENV, "2")
    first = register_checkpoint(files[0], owner=A)
    loaded = pipeline.get_model(first)
    register_checkpoint(files[1], owner=A)
    register_checkpoint(files[2], owner=A)
    assert first not in uploaded_names(A) and len(uploaded_names(A)) == 2
    with pytest.raises(WeightsError, match=r"^your uploaded network upload:net0-.* is no longer in memory.*upload it"):
        check_access(first, A)
    with pytest.raises(ModelNotFoundError):
        check_access(first, B)  # to anyone else it never existed
    with pytest.raises(WeightsError, match="upload it again"):  # a Grad-CAM or an intervention on A's stored result
        pipeline.get_model(first)
    assert first not in pipeline.models.loaded_model_names()  # the pipeline let go of its copy too
    assert loaded.model is not get_spec(uploaded_names(A)[0]).builder()


def test_the_process_budget_evicts_the_least_recently_used_network_of_anyone(files, monkeypatch):
    size = _net_bytes(files[3])
    monkeypatch.setenv(TOTAL_MB_ENV, str(2.5 * size / 1e6))  # room for two networks
    a = register_checkpoint(files[0], owner=A)
    b = register_checkpoint(files[1], owner=B)
    check_access(a, A)  # A used theirs more recently than B
    forget_owner("probe")
    c = register_checkpoint(files[2], owner=C)
    assert set(uploaded_names()) == {a, c}
    with pytest.raises(WeightsError, match="upload it again"):
        check_access(b, B)


def test_a_network_over_the_per_visitor_budget_is_refused_before_its_tensors_are_read(files, monkeypatch):
    from visualiser.models import checkpoints

    size = _net_bytes(files[0])
    monkeypatch.setenv(SESSION_MB_ENV, str(size / 2e6))
    monkeypatch.setattr(checkpoints, "_read_one", lambda *a: pytest.fail("a tensor was read"))
    with pytest.raises(WeightsError, match=r"^net1\.safetensors needs 0 MB in memory once loaded; .* per visitor"):
        register_checkpoint(files[1], owner=A)
    assert uploaded_names(A) == []


def test_a_closed_session_leaves_nothing_behind(files):
    name = register_checkpoint(files[0], owner=A)
    pipeline.get_model(name)
    forget_owner(A)
    assert uploaded_names(A) == [] and name not in pipeline.models.loaded_model_names()
    assert uploads._NETS == {}


def test_an_uploaded_network_cannot_stand_in_for_an_architecture(files):
    other = register_checkpoint(files[0], owner=B)
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        register_checkpoint(files[1], owner=A, arch=other)


MEMORY_PROBE = textwrap.dedent(
    """
    import sys
    from visualiser.allocator import tune_allocator
    tune_allocator()
    import torch
    from visualiser.models import uploads

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

    torch.set_num_threads(1)
    uploads.register_checkpoint(sys.argv[1], owner="warm-up")  # the code paths' own memory, once
    uploads.forget_owner("warm-up")
    before = rss_mb()
    name = uploads.register_checkpoint(sys.argv[1], owner="visitor")
    during = rss_mb()
    uploads.forget_owner("visitor")
    after = rss_mb()
    print(before, during, after)
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_memory_comes_back_after_an_upload_is_evicted(tmp_path):
    # The file is written here and the probe loads it once before measuring: what the code paths
    # keep for themselves and freed pages reused from a build would blur the network's ~47 MB.
    from safetensors.torch import save_file

    from visualiser.models.configs import ResNetConfig
    from visualiser.models.resnet import build_resnet

    config = ResNetConfig(block="basic", layers=(2, 2, 2, 2), attn="se", num_classes=1000)  # ~47 MB in float32
    save_file(build_resnet(config).state_dict(), tmp_path / "r18.safetensors")
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(tmp_path / "r18.safetensors")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    before, during, after = (float(x) for x in done.stdout.split())
    assert during - before > 40  # the network is in memory (~47 MB)...
    assert after - before < 10, (before, during, after)  # ...and gone again once evicted
    assert torch.get_num_threads() > 0
