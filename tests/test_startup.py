"""Cold start: the page can be served before torch is imported (it loads in the background afterwards)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from visualiser.ui.shell import build_demo
demo = build_demo()
heavy = sorted(m for m in ("torch", "matplotlib", "safetensors") if m in sys.modules)  # seconds each
from visualiser.ui.views import warm_up
warm_up()
from visualiser import pipeline
print(json.dumps({"before": heavy, "after_torch": "torch" in sys.modules,
                  "loaded": pipeline.loaded_model_names()}))
"""


def test_building_the_ui_imports_no_torch_and_warm_up_loads_the_defaults():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["before"] == []  # model lists, examples and defaults need none of these
    assert report["after_torch"] is True
    assert {"shapes_cbam", "motion_cbam3d"} <= set(report["loaded"])
