"""The Image tab's "your own network" field: a checkpoint becomes a model of its uploader's list.

``models.uploads.register_checkpoint`` judges the file before reading it (safetensors header, or a torch file's
zip entries and pickle), infers the architecture from its keys and shapes, loads it strictly and registers it
for its owner (the browser session or API client): listed to and usable by that owner only, within the
memory budgets of ``models.upload_store`` (an evicted network asks its owner to upload it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from visualiser.ui.views.heavy import uploads
from visualiser.ui.views.options import require
from visualiser.ui.views.text import markdown_text


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A registered upload: its name in the model list, its title and what was read from it, in words."""

    name: str
    title: str
    details: str


def load_checkpoint(
    checkpoint: str | None,
    labels: str | None = None,
    arch: str | None = None,
    lang: str = "en",
    owner: str | None = None,
) -> LoadedCheckpoint:
    """Register the uploaded checkpoint for ``owner`` (optionally with a label file and a named architecture)."""

    require(checkpoint, "choose a checkpoint file (.safetensors or .pth)")
    name = uploads.register_checkpoint(checkpoint, arch=arch or None, labels=labels or None, owner=owner)
    info = uploads.checkpoint_info(name)
    return LoadedCheckpoint(name, info.title, checkpoint_details(info.provenance(), lang))


def forget_uploads(owner: str | None) -> None:
    """Drop the networks ``owner`` uploaded (their page was closed)."""

    uploads.forget_owner(owner)


_HEADINGS = {
    "en": ("Loaded:", "Read from the keys and shapes:", "Assumed (the layout's convention, which keys cannot tell):",
           "Labels:", " Loaded in {ms} ms."),
    "zh": ("已加载：", "从键名和形状读出：", "假定（该布局的惯例，键名无法说明）：", "类别名：",
           " 加载用时 {ms} 毫秒。"),
}  # fmt: skip


def checkpoint_details(provenance: dict[str, Any], lang: str = "en") -> str:
    """Markdown: what the keys said, what the layout's convention supplied, the labels, the cost of loading.

    The headings are in the reader's language; what was read is the checkpoint's own words (names, keys),
    escaped, so a name such as ``[x](http://…).pth`` is shown as text, never as a link or an image.
    """
    loaded, read_heading, assumed_heading, labels_heading, cost_text = _HEADINGS["zh" if lang == "zh" else "en"]
    read = "; ".join(str(x) for x in provenance.get("read_from_keys", ()))
    assumed = "; ".join(str(x) for x in provenance.get("assumed_by_convention", ()))
    total = provenance.get("timings_s", {}).get("total_s")
    cost = cost_text.format(ms=f"{1000 * float(total):.0f}") if total is not None else ""
    return (
        f"**{loaded}** {markdown_text(provenance['title'])}  \n"
        f"**{read_heading}** {markdown_text(read)}.  \n"
        f"**{assumed_heading}** {markdown_text(assumed)}.  \n"
        f"**{labels_heading}** {markdown_text(provenance['labels'])}.{cost}"
    )
