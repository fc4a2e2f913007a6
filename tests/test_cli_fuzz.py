"""Fuzzing the command line: whatever the arguments, ``main(argv)`` ends in one of three documented ways.

1. it returns 0 (the command worked);
2. it returns 2 and prints exactly one line, ``error: <what is wrong>``, on stderr (a user mistake);
3. argparse rejects the arguments: ``SystemExit(2)`` with its usage message (``SystemExit(0)`` only for ``--help``).

Anything else (another exception, a traceback, another exit status) fails. Arguments are drawn from every
subcommand's flags with valid, borderline and nonsensical values, and paths include the hostile corpus, a
folder, a missing file and output locations that cannot be written. Commands that would do long or lasting
work (training, evaluation, the benchmark, downloads) only get arguments that must be refused.

Default: a short derandomised run (the same inputs every time). A longer, random run::

    VISUALISER_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/test_cli_fuzz.py
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support import hostile
from tests.support.fakes import FAKE_IMAGE_MODELS, fake_models_fixture, write_inputs  # noqa: F401 - pytest fixture
from visualiser.cli import main

_FROM_ENV = os.environ.get("VISUALISER_FUZZ_EXAMPLES")
EXAMPLES = int(_FROM_ENV) if _FROM_ENV else 12
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=_FROM_ENV is None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE = ("zero_byte", "truncated_png", "text_as_jpeg", "svg", "bomb", "extreme_aspect", "one_pixel", "cmyk",
           "animated_gif", "truncated_mp4", "audio_only", "zero_frames", "one_frame", "vfr", "still")  # fmt: skip
UNKNOWN_NAMES = ("no_such_model", "", "-", "../../etc/passwd", "名前", "fake_cbam ", "SHAPES_CBAM")


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory, fake_models) -> dict[str, Path]:
    """A working folder (the fuzzed commands run with it as the current directory) and the files they get."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    corpus = hostile.build_all(root / "hostile")
    inputs = write_inputs(root / "inputs")
    files = {name: corpus[name] for name in HOSTILE}
    files |= {"image": inputs.image, "clip": inputs.clip, "corrupt_image": inputs.corrupt_image}
    files |= {"missing": root / "missing.png", "folder": root / "hostile", "name with spaces": root / "a b.png"}
    shutil.copy(inputs.image, files["name with spaces"])
    return {"root": root, **files}


def _paths(arena: dict[str, Path]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(str(p) for k, p in arena.items() if k != "root"))


def _outputs(arena: dict[str, Path], suffix: str) -> st.SearchStrategy[str]:
    """Where results may be written: fresh places, an existing file or folder, and places nobody can write."""
    root = arena["root"]
    fresh = [str(root / "out" / f"run{suffix}"), f"relative{suffix}", str(root / "nested" / "deeper" / f"x{suffix}")]
    return st.sampled_from([*fresh, *fresh,
        str(arena["image"]), str(arena["folder"]), f"/proc/visualiser{suffix}", f"/dev/null/x{suffix}", "",
    ])  # fmt: skip


def _numbers() -> st.SearchStrategy[str]:
    """Mostly small integers (so commands get past argparse and do real work), sometimes nonsense."""
    junk = st.sampled_from(["0", "-1", "10000000000", "1e3", "abc", "", "-"])
    return st.one_of(st.integers(0, 8).map(str), st.integers(-3, 70).map(str), st.integers(1, 4).map(str), junk)


def _optional(draw: st.DrawFn, flag: str, values: st.SearchStrategy[str]) -> list[str]:
    return [flag, draw(values)] if draw(st.booleans()) else []


@st.composite
def analyse_argv(draw: st.DrawFn, arena: dict[str, Path]) -> list[str]:
    argv = [draw(st.sampled_from(["analyse", "analyze"]))]
    good = st.sampled_from([str(arena[k]) for k in ("image", "clip", "cmyk", "one_pixel", "vfr", "name with spaces")])
    argv += draw(st.one_of(st.lists(good, min_size=1, max_size=2), st.lists(_paths(arena), max_size=2)))
    models = st.sampled_from([*FAKE_IMAGE_MODELS, *FAKE_IMAGE_MODELS, "fake_motion3d", "shapes_cbam", *UNKNOWN_NAMES])
    argv += _optional(draw, "--model", models)
    argv += _optional(draw, "--out", _outputs(arena, ""))
    argv += _optional(draw, "--top-k", _numbers())
    argv += _optional(draw, "--frames", _numbers())
    argv += ["--gradcam"] if draw(st.booleans()) else []
    argv += ["--no-figures"] if draw(st.sampled_from([True, True, True, False])) else []  # figures are slow
    return argv


@st.composite
def animate_argv(draw: st.DrawFn, arena: dict[str, Path]) -> list[str]:
    clips = st.sampled_from([str(arena[k]) for k in ("clip", "one_frame", "vfr", "still", "truncated_mp4")])
    argv = ["animate", *draw(st.one_of(st.lists(_paths(arena), max_size=1), clips.map(lambda c: [c])))]
    argv += _optional(draw, "--out", _outputs(arena, ".mp4"))
    kernels = st.sampled_from(["teaching:temporal_difference", "teaching:no_such", "model:fake_motion3d",
                               "model:fake_cbam", "model:no_such_model", "nonsense", "", "teaching:"])  # fmt: skip
    argv += _optional(draw, "--kernel", kernels)
    argv += _optional(draw, "--out-channel", _numbers())
    argv += _optional(draw, "--mode", st.sampled_from(["3d", "2d_vs_3d", "3d", "2d_vs_3d", "4d", ""]))
    argv += ["--gif"] if draw(st.booleans()) else []
    return argv


@st.composite
def refused_argv(draw: st.DrawFn, arena: dict[str, Path]) -> list[str]:
    """Commands that must not start real work: unknown names, junk options, missing arguments, extra words."""
    command = draw(st.sampled_from(["fetch", "train", "eval", "stats", "models", "bench", "loadtest"]))
    if command == "models":
        return ["models", *draw(st.sampled_from([[], ["--json"], ["--jsn"], ["extra"]]))]
    if command in ("bench", "loadtest", "train", "eval"):  # development tools (tools/), refused as unknown
        return [command, *draw(st.sampled_from([[], ["--quick"], ["--clients", "0"]]))]
    argv = [command]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(UNKNOWN_NAMES[:5] + (("fake_plain",) if command == "fetch" else ()))))
    if command == "stats":
        argv += ["--out", str(arena["root"] / "stats.npz"), *draw(st.sampled_from([[], ["--generated"]]))]
    argv += draw(st.sampled_from([[], ["--no-such-option"], ["--samples", "abc"], ["--seed", "-1"]]))
    return argv


def _run(argv: list[str], root: Path) -> None:
    """Run ``main(argv)`` in ``root`` and check it ended in one of the three allowed ways."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_info:
            wanted_help = any(a in ("-h", "--help") for a in argv)
            assert exit_info.code == 2 or (exit_info.code == 0 and wanted_help), (argv, exit_info.code)
            assert "Traceback" not in err.getvalue()
            event(f"{argv[:1]} SystemExit({exit_info.code})")
            return
    stderr = err.getvalue()
    event(f"{argv[:1]} returned {code}")
    assert code in (0, 2), (argv, code, stderr)
    assert "Traceback" not in stderr, (argv, stderr)
    if code == 2:  # one line, though a file name quoted in it may itself hold a line break
        breaks = 1 + sum(a.count("\n") for a in argv)
        assert stderr.startswith("error: ") and stderr.endswith("\n") and stderr.count("\n") <= breaks, (argv, stderr)
        assert len(stderr.strip()) > len("error:"), (argv, stderr)


@FUZZ_SETTINGS
@given(data=st.data())
def test_analyse_ends_cleanly(arena, data):
    _run(data.draw(analyse_argv(arena)), arena["root"])


@FUZZ_SETTINGS
@given(data=st.data())
def test_animate_ends_cleanly(arena, data):
    _run(data.draw(animate_argv(arena)), arena["root"])


@FUZZ_SETTINGS
@given(data=st.data())
def test_refused_commands_end_cleanly(arena, data):
    _run(data.draw(refused_argv(arena)), arena["root"])


@FUZZ_SETTINGS
@given(
    argv=st.lists(
        st.one_of(
            st.sampled_from(
                ["analyse", "animate", "models", "--model", "--out", "--help", "-h", "--frames", "--json", "x"]
            ),
            st.text(max_size=8),
        ),
        max_size=4,
    )
)
def test_random_words_end_cleanly(arena, argv):
    if argv[:1] in (["stats"], ["fetch"]):
        return  # these get only refusable arguments, above
    _run(argv, arena["root"])


def test_known_mistakes_give_one_error_line(arena):
    """Examples that must be refused with a message (not merely "not crash"): the fuzzer's guarantees in miniature."""
    for argv in (
        ["analyse", str(arena["missing"]), "--model", "fake_cbam", "--no-figures"],
        ["analyse", str(arena["bomb"]), "--model", "fake_cbam", "--no-figures"],
        ["analyse", str(arena["image"]), "--model", "no_such_model", "--no-figures"],
        ["analyse", str(arena["image"]), "--model", "fake_cbam", "--out", str(arena["image"]), "--no-figures"],
        ["animate", str(arena["truncated_mp4"])],
        ["fetch", "no_such_model"],
    ):
        err = io.StringIO()
        with (
            contextlib.chdir(arena["root"]),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(err),
        ):
            assert main(argv) == 2, argv
        assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1, (argv, err.getvalue())
