"""Inside one attention module: the intermediates the network computed on the way to its gate.

All three views are detailed matplotlib Figures, rendered when the user selects a block (lazy).
They draw only recorded quantities (squeeze, branch logits, pooled maps, learned kernel, logits,
gate); the one arithmetic step shown, avg + max logits, is the sum the module feeds to its sigmoid.
Scores printed on them (the squeeze/gate rank correlation) are computed by ``visualiser.analysis``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.text import Text
from mpl_toolkits.axes_grid1 import make_axes_locatable

from visualiser.errors import VisualiserError
from visualiser.render.colour import DIVERGING_CMAP, symmetric_limit
from visualiser.render.figures import figure_to_rgb, new_figure
from visualiser.render.options import DEFAULT_CMAP
from visualiser.render.words import say
from visualiser.result import BlockAttention


def _need(block: BlockAttention, *names: str) -> list[np.ndarray]:
    values = [getattr(block, n) for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if v is None]
    if missing:
        raise VisualiserError(f"block {block.name!r} ({block.kind}) did not record {', '.join(missing)}")
    return values


def se_internals(
    block: BlockAttention, squeeze_gate_spearman: float | None, cmap: str = DEFAULT_CMAP, lang: str = "en"
) -> Figure:
    """Squeeze (pooled channel mean) against excitation (the gate), for SE and ECA blocks.

    Left: one dot per channel, titled with their Spearman rank correlation (``squeeze_gate_spearman``, from
    ``visualiser.analysis.agreement.squeeze_gate_spearman``; None: undefined, one of them is constant).
    Right: both in channel order (squeeze on its own axis, gate on [0, 1]), to see whether the gate
    follows the average activation or reweights it.
    """
    squeeze, gate = _need(block, "squeeze", "channel_gate")
    fig = new_figure(10.0, 3.6, layout=None)  # fixed margins: constrained layout would double the drawing time
    left = fig.add_axes((0.07, 0.15, 0.24, 0.68))
    right = fig.add_axes((0.46, 0.15, 0.46, 0.68))
    dots = left.scatter(squeeze, gate, c=gate, cmap=cmap, vmin=0.0, vmax=1.0, s=6, linewidths=0)
    left.set_xlabel(say(lang, "squeeze_axis"))
    left.set_ylabel(say(lang, "excitation_axis"))
    left.set_ylim(0.0, 1.0)
    rho = say(lang, "undefined") if squeeze_gate_spearman is None else f"{squeeze_gate_spearman:.2f}"
    left.set_title(say(lang, "spearman_title", rho=rho), fontsize=9)
    x = np.arange(gate.shape[0])
    right.fill_between(x, squeeze, step="mid", color="0.75", linewidth=0, label=say(lang, "squeeze"))
    right.set_xlim(-0.5, gate.shape[0] - 0.5)
    right.set_xlabel(say(lang, "channel_index"))
    right.set_ylabel(say(lang, "squeeze"), color="0.4")
    twin = right.twinx()
    twin.plot(x, gate, color="#1f6feb", linewidth=0.6, label=say(lang, "gate"))
    twin.set_ylim(0.0, 1.0)
    twin.set_ylabel(say(lang, "gate"), color="#1f6feb")
    right.set_title(say(lang, "squeeze_vs_gate"), fontsize=9)
    fig.colorbar(dots, cax=fig.add_axes((0.32, 0.15, 0.01, 0.68))).set_label(say(lang, "gate"))
    what = say(lang, "se_steps" if block.kind == "se" else "eca_steps")
    fig.suptitle(say(lang, "block_title", label=block.label, name=block.name, what=what), fontsize=10)
    return fig


def cam_branches(block: BlockAttention, cmap: str = DEFAULT_CMAP, lang: str = "en") -> Figure:
    """CBAM channel gate: the average-pool and max-pool branch logits, and their sum against the gate.

    Left: one dot per channel, avg-branch logit against max-branch logit (the diagonal: equal say).
    Right: the summed logits against the recorded gate; the dots lie on the sigmoid because the
    module computes ``gate = sigmoid(avg + max)``.
    """
    avg, mx, gate = _need(block, "avg_logits", "max_logits", "channel_gate")
    fig = new_figure(10.0, 3.8, layout=None)
    left = fig.add_axes((0.07, 0.15, 0.36, 0.68))
    right = fig.add_axes((0.52, 0.15, 0.36, 0.68))
    dots = left.scatter(avg, mx, c=gate, cmap=cmap, vmin=0.0, vmax=1.0, s=6, linewidths=0)
    lo, hi = float(min(avg.min(), mx.min())), float(max(avg.max(), mx.max()))
    left.plot([lo, hi], [lo, hi], color="0.5", linewidth=0.8, linestyle="--")
    left.set_xlabel(say(lang, "avg_logit"))
    left.set_ylabel(say(lang, "max_logit"))
    share = float((mx > avg).mean())
    left.set_title(say(lang, "max_larger", share=f"{100 * share:.0f}"), fontsize=9)
    total = avg + mx  # the exact input of the module's sigmoid
    right.scatter(total, gate, c=gate, cmap=cmap, vmin=0.0, vmax=1.0, s=6, linewidths=0)
    curve = np.linspace(min(total.min(), -6.0), max(total.max(), 6.0), 200)
    right.plot(curve, 0.5 * (1.0 + np.tanh(0.5 * curve)), color="0.5", linewidth=0.8, label=say(lang, "sigmoid"))
    right.set_ylim(0.0, 1.0)
    right.set_xlabel(say(lang, "sum_logits"))
    right.set_ylabel(say(lang, "gate"))
    right.legend(loc="upper left", fontsize=8, frameon=False)
    right.set_title(say(lang, "gate_is_sigmoid"), fontsize=9)
    fig.colorbar(dots, cax=fig.add_axes((0.9, 0.15, 0.012, 0.68))).set_label(say(lang, "gate"))
    what = say(lang, "cam_branches")
    fig.suptitle(say(lang, "block_title", label=block.label, name=block.name, what=what), fontsize=10)
    return fig


def _map_panel(ax: Axes, shape: tuple[int, ...], title: str, cmap: str) -> AxesImage:
    """An image panel of ``shape`` with its own colour bar, hugging the square image (values set by ``_fill``)."""
    shown = ax.imshow(np.zeros(shape), cmap=cmap, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    bar_axes = make_axes_locatable(ax).append_axes("right", size="6%", pad=0.05)
    ax.get_figure().colorbar(shown, cax=bar_axes)
    return shown


def _kernel_names(order: str | None, lang: str = "en") -> tuple[str, str]:
    if order == "max_mean":
        return say(lang, "map_max"), say(lang, "map_mean")
    if order == "mean_max":
        return say(lang, "map_mean"), say(lang, "map_max")
    raise VisualiserError(f"unknown spatial channel order {order!r}")


@dataclass
class _SamFigure:
    """The spatial-gate figure's parts that carry one block's values: the four maps, the kernel slices, the title."""

    fig: Figure
    maps: list[AxesImage]
    kernels: list[AxesImage]
    title: Text
    lock: threading.Lock = field(default_factory=threading.Lock)


def _sam_values(block: BlockAttention, t: int | None, lang: str) -> tuple[list[np.ndarray], np.ndarray, str]:
    """The four maps shown (one time slice of a 3-D block), the kernel and the figure's title."""
    mean_map, max_map, logits, gate, kernel = _need(
        block, "mean_map", "max_map", "spatial_logits", "spatial_gate", "spatial_kernel"
    )
    when = ""
    if gate.ndim == 3:
        t = gate.shape[0] // 2 if t is None else t
        if not 0 <= t < gate.shape[0]:
            raise VisualiserError(f"time slice {t} is outside 0..{gate.shape[0] - 1}")
        mean_map, max_map, logits, gate = mean_map[t], max_map[t], logits[t], gate[t]
        when = say(lang, "time_slice", t=f"{t + 1}/{block.spatial_gate.shape[0]}")  # type: ignore[union-attr]
    title = say(lang, "spatial_title", label=block.label, name=block.name, when=when)
    return [mean_map, max_map, logits, gate], kernel, title


def _sam_figure(shapes: tuple[tuple[int, ...], ...], kernel_shape: tuple[int, ...], order: str | None, cmap: str,
                lang: str) -> _SamFigure:  # fmt: skip
    """The figure's layout for maps of ``shapes`` and a kernel of ``kernel_shape``, without values (``_fill``)."""
    names = _kernel_names(order, lang)
    depth = kernel_shape[1] if len(kernel_shape) == 4 else 1
    # a 3-D kernel gets one row per input map, so its panels (and their titles) stay readable on a screen
    rows = 2 if depth > 1 else 1
    height = 6.2 if rows == 1 else 7.4
    fig = new_figure(max(10.0, 1.25 * depth), height, layout=None)  # fixed grid: half the time of constrained
    top_row = (0.86, 0.5) if rows == 1 else (0.88, 0.6)
    axes = fig.add_gridspec(1, 4, left=0.02, right=0.96, top=top_row[0], bottom=top_row[1], wspace=0.45).subplots()
    panels = (("mean_map", cmap), ("max_map", cmap), ("conv_logits", DIVERGING_CMAP), ("gate_sigmoid", cmap))
    maps = [
        _map_panel(ax, shape, say(lang, key), colours)
        for ax, shape, (key, colours) in zip(axes, shapes, panels, strict=True)
    ]
    title = fig.text(0.5, 0.965, "", ha="center", va="top", fontsize=10)
    slices = [(c, d) for c in range(2) for d in range(depth)]
    kernel_top = 0.36 if rows == 1 else 0.47
    grid = fig.add_gridspec(
        rows, len(slices) // rows, left=0.04, right=0.88, top=kernel_top, bottom=0.04, wspace=0.2, hspace=0.35
    )
    kernel_axes = np.atleast_1d(grid.subplots()).ravel()
    kernels = []
    for ax, (c, d) in zip(kernel_axes, slices, strict=True):
        kernels.append(ax.imshow(np.zeros(kernel_shape[-2:]), cmap=DIVERGING_CMAP, interpolation="nearest"))
        ax.set_title(say(lang, "on_map", map=names[c]) + (f", dt={d}" if len(kernel_shape) == 4 else ""), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    size = "x".join(str(s) for s in kernel_shape)
    kernel_text = say(lang, "learned_kernel", size=size, first=names[0], second=names[1])
    fig.text(0.5, kernel_top + 0.08 if rows == 1 else kernel_top + 0.055, kernel_text, ha="center", fontsize=9)
    fig.colorbar(kernels[-1], cax=fig.add_axes((0.91, 0.06, 0.012, 0.28))).set_label(say(lang, "weight"))
    return _SamFigure(fig, maps, kernels, title)


def _fill(parts: _SamFigure, maps: list[np.ndarray], kernel: np.ndarray, title: str) -> None:
    """One block's values into the figure: each map on its own range (the logits symmetric), the kernel on one
    symmetric range; the colour bars follow their images."""
    for image, values, symmetric in zip(parts.maps, maps, (False, False, True, False), strict=True):
        image.set_data(values)
        limits = _symmetric(values) if symmetric else {"vmin": values.min(), "vmax": values.max()}  # imshow's own
        image.set_clim(limits["vmin"], limits["vmax"])
    limit = _symmetric(kernel)
    flat = kernel.reshape(-1, *kernel.shape[-2:])  # (2 * depth, k, k), in the panels' order
    for image, weights in zip(parts.kernels, flat, strict=True):
        image.set_data(weights)
        image.set_clim(limit["vmin"], limit["vmax"])
    parts.title.set_text(title)


def sam_internals(block: BlockAttention, t: int | None = None, cmap: str = DEFAULT_CMAP, lang: str = "en") -> Figure:
    """CBAM spatial gate step by step: channel-mean and channel-max maps → learned k×k conv → logits → gate.

    Top row: the two pooled maps, the pre-sigmoid logits and the gate, each with its own colorbar
    (own range). Bottom row: the learned kernel, one panel per input map in the module's channel
    order, on a symmetric diverging scale. 3-D blocks show time slice ``t`` of the (T, H, W) maps
    (default: the middle one) and every temporal slice of the 2×k×k×k kernel.
    """
    maps, kernel, title = _sam_values(block, t, lang)
    parts = _sam_figure(tuple(m.shape for m in maps), kernel.shape, block.spatial_order, cmap, lang)
    _fill(parts, maps, kernel, title)
    return parts.fig


_SAM_KEPT: OrderedDict[tuple, _SamFigure] = OrderedDict()
_SAM_KEPT_LOCK = threading.Lock()
_SAM_KEPT_MOST = 8


def sam_internals_picture(
    block: BlockAttention, t: int | None = None, cmap: str = DEFAULT_CMAP, lang: str = "en"
) -> np.ndarray:
    """``sam_internals`` as an RGB array, without building the figure again: one figure is kept per layout (map
    and kernel shapes, channel order, colours, language) and refilled with each block's values (the same picture
    as a new figure's; building the two dozen axes was half the time)."""
    maps, kernel, title = _sam_values(block, t, lang)
    key = (tuple(m.shape for m in maps), kernel.shape, block.spatial_order, cmap, lang)
    with _SAM_KEPT_LOCK:
        parts = _SAM_KEPT.get(key)
        if parts is not None:
            _SAM_KEPT.move_to_end(key)
    if parts is None:
        parts = _sam_figure(*key)
        with _SAM_KEPT_LOCK:
            parts = _SAM_KEPT.setdefault(key, parts)
            while len(_SAM_KEPT) > _SAM_KEPT_MOST:
                _SAM_KEPT.popitem(last=False)
    with parts.lock:
        _fill(parts, maps, kernel, title)
        return figure_to_rgb(parts.fig)


def _symmetric(values: np.ndarray) -> dict[str, float]:
    bound = symmetric_limit(values)
    return {"vmin": -bound, "vmax": bound}
