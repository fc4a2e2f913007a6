"""``python -m tools.bench --browser [--quick]``: where users wait.

Debian's chromium (through Playwright) clicks through the app as a visitor does, beside the echo app
(``tools/echo_app.py``, Gradio's own floor for a click), interleaved in one run: each Image-tab analysis (every
embedded model, SE-ResNet-50 and CBAM-ResNet-50 with deterministic weights installed by ``fetch --from``),
moving alpha, picking a block, sorting, Grad-CAM, a shipped clip on the Clip tab and the 3D tab's animation.
Each is reported above the floor and above the floor plus the model's own work measured in process; each
action's time is broken down from the server's event trace and the browser's timeline.

Modules: ``flows`` (the page actions and the precise "finished" state), ``watch.js`` (the in-page watcher),
``launcher`` + ``server_trace`` (the app's process: deterministic weights, one trace line per event),
``reference`` (in-process forward passes), ``breakdown`` (the per-step timeline), ``run`` (the run),
``report`` (rows in the README table's format).
"""

from tools.bench.browser.run import FlowBroke, run_browser

__all__ = ["FlowBroke", "run_browser"]
