"""The Image tab's "your own network" field: a checkpoint becomes a model of the list, within a memory budget.

``models.uploads.register_checkpoint`` reads the file safely (safetensors, or ``torch.load`` with
``weights_only=True``), infers the architecture from its keys and shapes and loads it strictly. Each
registered network stays in memory, so the app keeps only the latest few (``VISUALISER_MAX_UPLOADED_MODELS``,
default 2); an older one is dropped and whoever still has it selected is told to upload it again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from visualiser.errors import InputError
from visualiser.ui.views.options import require

MAX_UPLOADED_ENV = "VISUALISER_MAX_UPLOADED_MODELS"
DEFAULT_MAX_UPLOADED = 2


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A registered upload: its name in the model list, its title and what was read from it, in words."""

    name: str
    title: str
    details: str


def max_uploaded_models() -> int:
    """How many uploaded networks the process keeps at once."""
    raw = os.environ.get(MAX_UPLOADED_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else DEFAULT_MAX_UPLOADED
    except ValueError:
        raise InputError(f"{MAX_UPLOADED_ENV} must be a whole number, not {raw!r}") from None


def load_checkpoint(
    checkpoint: str | None, labels: str | None = None, arch: str | None = None, lang: str = "en"
) -> LoadedCheckpoint:
    """Register the uploaded checkpoint (optionally with a label file and a named architecture)."""
    from visualiser import pipeline
    from visualiser.models.uploads import checkpoint_info, register_checkpoint, unregister_checkpoint, uploaded_names

    require(checkpoint, "choose a checkpoint file (.safetensors or .pth)")
    name = register_checkpoint(checkpoint, arch=arch or None, labels=labels or None)
    older = [n for n in uploaded_names() if n != name]
    for dropped in older[: max(0, len(older) - (max_uploaded_models() - 1))]:
        unregister_checkpoint(dropped)
        pipeline.forget_models([dropped])
    info = checkpoint_info(name)
    return LoadedCheckpoint(name, info.title, checkpoint_details(info.provenance(), lang))


_HEADINGS = {
    "en": ("Loaded:", "Read from the keys and shapes:", "Assumed (the layout's convention, which keys cannot tell):",
           "Labels:", " Loaded in {ms} ms."),
    "zh": ("已加载：", "从键名和形状读出：", "假定（该布局的惯例，键名无法说明）：", "类别名：",
           " 加载用时 {ms} 毫秒。"),
}  # fmt: skip


def checkpoint_details(provenance: dict[str, Any], lang: str = "en") -> str:
    """Markdown: what the keys said, what the layout's convention supplied, the labels, the cost of loading.

    The headings are in the reader's language; what was read is the checkpoint's own words (names, keys).
    """
    loaded, read_heading, assumed_heading, labels_heading, cost_text = _HEADINGS["zh" if lang == "zh" else "en"]
    read = "; ".join(str(x) for x in provenance.get("read_from_keys", ()))
    assumed = "; ".join(str(x) for x in provenance.get("assumed_by_convention", ()))
    total = provenance.get("timings_s", {}).get("total_s")
    cost = cost_text.format(ms=f"{1000 * float(total):.0f}") if total is not None else ""
    return (
        f"**{loaded}** {provenance['title']}  \n"
        f"**{read_heading}** {read}.  \n"
        f"**{assumed_heading}** {assumed}.  \n"
        f"**{labels_heading}** {provenance['labels']}.{cost}"
    )
