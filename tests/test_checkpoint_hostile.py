"""Hostile checkpoints through the CLI: one ``error:`` line with the promised sentence and status 2, nothing else.

The files are built by ``tests/support/hostile.py`` (never shipped); the server's upload event and the browser
get the same files in ``test_security.py`` and ``test_browser.py``, and must show the same sentences.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import hostile
from visualiser import pipeline
from visualiser.cli import main
from visualiser.models.uploads import unregister_checkpoint, uploaded_names

REFUSED = [name for name, (_, expected) in hostile.CHECKPOINT_BUILDERS.items() if expected is not None]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str | None]]:
    return hostile.build_checkpoints(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture(autouse=True)
def forget_uploads():
    yield
    for name in uploaded_names():
        pipeline.forget_models([name])
        unregister_checkpoint(name)


@pytest.mark.parametrize("name", REFUSED)
def test_a_hostile_checkpoint_gets_one_error_line_and_status_2(name, checkpoints, fake_inputs, tmp_path, capsys):
    path, expected = checkpoints[name]
    code = main(["analyse", str(fake_inputs.image), "--weights", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == [lines[-1]] and errors[0].startswith(f"error: {expected}"), captured.err
    assert lines[:-1] == [] or name == "overflow"  # only a network that loaded is announced before the pass
    assert "Traceback" not in captured.err and "weights_only" not in captured.err
    assert not (tmp_path / "out" / fake_inputs.image.stem).exists()  # no result drawn from garbage


def test_the_good_checkpoint_of_the_same_family_loads(checkpoints, fake_inputs, tmp_path, capsys):
    path, _ = checkpoints["good"]
    code = main(["analyse", str(fake_inputs.image), "--weights", str(path), "--out", str(tmp_path), "--no-figures"])
    assert code == 0, capsys.readouterr().err


def test_the_os_system_payload_never_runs(checkpoints, fake_inputs, tmp_path, monkeypatch, capsys):
    import os

    ran: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: ran.append(a) or 0)
    path, _ = checkpoints["os_system"]
    assert main(["analyse", str(fake_inputs.image), "--weights", str(path), "--out", str(tmp_path)]) == 2
    assert ran == []


def test_an_unbounded_arch_is_not_echoed_unbounded(checkpoints, fake_inputs, tmp_path, capsys):
    path, _ = checkpoints["good"]
    arch = "x" * 10_000 + "\n[link](http://example.invalid)"
    argv = ["analyse", str(fake_inputs.image), "--weights", str(path), "--arch", arch, "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'xxxx") and err.count("\n") == 1 and len(err) < 2_000
    assert "http://example.invalid" not in err
