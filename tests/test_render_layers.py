"""Render draws and nothing else: no torch, no models, no metrics; one face, one diverging map; lazy imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RENDER = ROOT / "visualiser" / "render"

EVERY_RENDER_MODULE = """
import json, pkgutil, importlib, sys
import visualiser.render as render
names = [m.name for m in pkgutil.walk_packages(render.__path__, "visualiser.render.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in
      ("torch", "torchvision") or m.startswith(("visualiser.models", "visualiser.analysis", "visualiser.capture",
      "visualiser.pipeline")))}))
"""

KERNEL_NAMES = """
import json, sys
from visualiser import catalogue
sources = catalogue.kernel_sources()
heavy = ("PIL.ImageDraw", "av", "matplotlib", "torch", "visualiser.render.conv3d.animate")
print(json.dumps({"sources": sources, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_every_renderer_loads_no_torch_models_or_analysis():
    report = _run(EVERY_RENDER_MODULE)
    assert "visualiser.render.conv3d.panel" in report["modules"] and "visualiser.render.text" in report["modules"]
    assert report["loaded"] == []


def test_the_catalogue_reads_the_kernel_names_without_drawing_or_video_modules():
    report = _run(KERNEL_NAMES)
    assert report["sources"][:4] == [
        "teaching:temporal_difference",
        "teaching:blur",
        "teaching:edge",
        "teaching:motion",
    ]
    assert report["loaded"] == []


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts)


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from module import name`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module or "", alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]


def test_nobody_imports_a_private_render_name_or_module():
    offenders = []
    for path in _python_files(ROOT / "visualiser") + _python_files(ROOT / "tools") + _python_files(ROOT / "tests"):
        for module, name in _imports(path):
            if not module.startswith("visualiser.render"):
                continue
            own_package = path.is_relative_to(RENDER) and module.rsplit(".", 1)[0] == ".".join(
                path.relative_to(ROOT).with_suffix("").parts[:-1]
            )
            private = name.startswith("_") or any(part.startswith("_") for part in module.split("."))
            if private and not own_package:
                offenders.append(f"{path.relative_to(ROOT)}: from {module} import {name}")
    assert offenders == []


def test_one_face_and_one_diverging_map():
    def users(needle: str) -> list[str]:
        return [p.relative_to(RENDER).as_posix() for p in _python_files(RENDER) if needle in p.read_text("utf-8")]

    assert users("ImageFont") == ["text.py"]  # every picture's letters come from render.text
    assert users("RdBu") == ["colour.py"]  # the diverging map is defined once
    assert users("053061") == ["colour.py"]
