"""The package's promises that need no build: the Space's pins fit its ranges, and the parts left out say so.

Building the wheel and installing it into a fresh environment is ``.ci/installed`` (tests/installed/).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from visualiser.paths import REPO_ROOT


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _space_pins() -> dict[str, Requirement]:
    lines = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {r.name.lower().replace("_", "-"): r for r in pins}


def test_the_spaces_exact_versions_fit_the_packages_ranges():
    project = _project()
    wanted = [Requirement(d) for d in project["dependencies"] + project["optional-dependencies"]["app"]]
    space = _space_pins()
    assert {r.name.lower().replace("_", "-") for r in wanted} == set(space)  # the same libraries
    for requirement in wanted:
        pin = space[requirement.name.lower().replace("_", "-")]
        exact = [s.version for s in pin.specifier if s.operator == "=="]
        if exact:  # torch, gradio: the Space's version must be one the package accepts
            assert requirement.specifier.contains(exact[0]), f"{pin} is outside {requirement}"
        else:
            assert pin.specifier == requirement.specifier, f"{pin} and {requirement} differ"
    torch = next(r for r in wanted if r.name == "torch")
    assert [s.operator for s in torch.specifier] == [">="]  # a floor (the oldest tested), never a pin


@pytest.mark.parametrize("name", ["launch", "analyse_image"])
def test_without_gradio_only_the_app_is_missing(name):
    code = (
        "import sys; sys.modules['gradio'] = None\n"  # the core install: the [app] extra not installed
        "import visualiser\n"
        f"try:\n    visualiser.{name}\nexcept ModuleNotFoundError as e:\n    print('missing:', e)\n"
        "else:\n    print('available')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = {
        "launch": "missing: visualiser.launch serves the Gradio app, which is an extra: "
        "pip install 'attention-visualiser[app]'",
        "analyse_image": "available",
    }
    assert done.stdout.strip() == expected[name]


def test_the_space_gets_the_system_packages_ci_tests_with():
    """The Space installs packages.txt; CI installs the same, so what the tests saw is what the Space runs:
    ffmpeg (Gradio re-encodes clips with it) and the CJK face the Chinese figures are drawn with."""
    from visualiser.render.text import CJK_FONT_FILES

    space = {line.strip() for line in (REPO_ROOT / "packages.txt").read_text().splitlines() if line.strip()}
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    installed = next(line for line in ci.splitlines() if "apt-get install" in line).split()
    assert space <= set(installed), space - set(installed)
    assert "ffmpeg" in space
    fonts = [p for p in space if p.startswith("fonts-wqy-")]  # Debian's package name is the file's folder + face
    assert any(path.endswith(f"/wqy/{p.removeprefix('fonts-')}.ttc") for p in fonts for path in CJK_FONT_FILES)
