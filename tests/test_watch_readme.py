"""The README's "Your own network" example runs as written and finds the gate it defines."""

from __future__ import annotations

import contextlib
import io
import re

from visualiser.paths import REPO_ROOT as ROOT


def test_the_readme_example_runs_as_written(monkeypatch):
    from visualiser import pipeline

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own network", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), namespace)
    try:
        lines = printed.getvalue().splitlines()
        assert "Prediction(" in lines[0] and lines[0].endswith("2 (16,)")
        assert lines[1].startswith("unknown (found at run time) | channel gate: function mode inside 2")
        assert pipeline.get_model(namespace["name"]).model is namespace["model"]
    finally:
        pipeline.unregister_module(namespace["name"])
