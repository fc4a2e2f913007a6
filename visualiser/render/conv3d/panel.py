"""One convolution side of the frame: input deck, kernel box, output deck filling in, the sum.

``Panel.paint_static`` draws everything that never changes onto the background once;
``Panel.paint_step`` draws only what changes (filled output cells, kernel, highlight, numbers).
The output layer is precomputed as per-slice colour and fill-order maps, so the filled state at
any step is a vectorised comparison rather than a replay of earlier steps: frames can be drawn
in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from visualiser.render.colour import MUTED, colourise_signed
from visualiser.render.conv3d import draw as dr
from visualiser.render.conv3d.draw import EMPTY_RGB, KERNEL_RGB, OUTLINE_RGB, display_rgb, tinted_channel
from visualiser.render.conv3d.layout import PanelLayout
from visualiser.render.conv3d.plan import AnimationPlan, Side, StepTerms, filled_count, step_terms
from visualiser.render.conv3d.projection import Deck, DeckShape, PixelBox, clip_box, rasterise_slice
from visualiser.render.conv3d.spec import parameter_counts, parameter_text, shape_formula_text
from visualiser.render.words import say

NEVER = np.iinfo(np.int64).max


@dataclass
class OutputLayer:
    """Precomputed output cells over the output deck's pixel box.

    ``order[t]`` holds, per pixel, the raster index of the slice-t cell under it (``NEVER`` where
    slice t does not cover the pixel); ``rgb[t]`` its colour. Slices with larger t are in front,
    and cells fill in raster order, so at any moment slices before the current one are complete and
    later ones empty: ``stages[t]`` caches the picture with slices 0..t−1 complete, and a frame
    only has to add the part of the current slice that is filled.
    """

    box: PixelBox
    order: np.ndarray  # (T_out, h_px, w_px) int64
    rgb: np.ndarray  # (T_out, h_px, w_px, 3) uint8
    cells_per_slice: int
    stages: np.ndarray | None = None  # (T_out + 1, h_px, w_px, 3) uint8, from precompose()

    def precompose(self, background: np.ndarray) -> None:
        """Build ``stages`` on top of the empty output deck (the background's pixels in ``box``)."""
        stages = [background.copy()]
        for t in range(self.order.shape[0]):
            stage = stages[-1].copy()
            covered = self.order[t] != NEVER
            stage[covered] = self.rgb[t][covered]
            stages.append(stage)
        self.stages = np.stack(stages)

    def composite(self, filled: int) -> np.ndarray:
        """The output region ``(h_px, w_px, 3)`` with the first ``filled`` cells drawn."""
        if self.stages is None:
            raise RuntimeError("OutputLayer.precompose() must run before composite()")
        current = min(filled // self.cells_per_slice, self.order.shape[0])
        region = self.stages[current].copy()
        if current < self.order.shape[0]:
            shown = self.order[current] < filled
            region[shown] = self.rgb[current][shown]
        return region


class Panel:
    """Geometry and drawing for one side ("3d" or the 2D comparison "2d") of an animation."""

    def __init__(
        self,
        plan: AnimationPlan,
        side: Side,
        layout: PanelLayout,
        limit: float,
        frame_size: tuple[int, int],
        lang: str = "en",
    ):
        self.plan, self.side, self.layout, self.limit, self.lang = plan, side, layout, limit, lang
        self.spec, self.output, _ = plan.side(side)
        grid_dims = tuple(int(v) for v in plan.grid.shape[1:])
        self.grid_dims = grid_dims
        self.padded = tuple(n + 2 * p for n, p in zip(grid_dims, self.spec.padding, strict=True))
        shape = DeckShape.for_grid(*grid_dims)
        self.in_deck = Deck.fit(self.padded, shape, layout.input_box)  # type: ignore[arg-type]
        out_dims = tuple(int(v) for v in self.output.shape)
        self.out_deck = Deck.fit(out_dims, shape, layout.output_box, cell=self.in_deck.cell)  # type: ignore[arg-type]
        self.cube_decks = [Deck.fit(self.padded, shape, box) for box in layout.cube_boxes]  # type: ignore[arg-type]
        self.cube_channels = _shown_channels(plan.grid.shape[0], len(layout.cube_boxes))
        self.frame_size = frame_size
        self.layer = self._output_layer()

    # ---- static -------------------------------------------------------------------------------------------------

    def paint_static(self, image: Image.Image) -> None:
        """Draw input deck, cubes, empty output deck, colorbar, labels and formulas."""
        self._paint_input(image, self.in_deck, display_rgb(self.plan.grid))
        for deck, channel in zip(self.cube_decks, self.cube_channels, strict=True):
            self._paint_input(image, deck, tinted_channel(self.plan.grid, channel))
        canvas = ImageDraw.Draw(image)
        t_out = self.out_deck.dims[0]
        for t in range(t_out):
            canvas.polygon(self.out_deck.quad(t, 0, 0, *self.out_deck.dims[1:]), outline=(200, 200, 200))
        dr.colorbar(canvas, tuple(round(v) for v in self.layout.colorbar_box), self.limit, self.layout.small_font)
        self._paint_labels(canvas)

    def _paint_input(self, image: Image.Image, deck: Deck, pictures: np.ndarray) -> None:
        """Slices back to front: real frames textured, padding as empty cells with a dashed outline."""
        canvas = ImageDraw.Draw(image)
        (pt, ph, pw), (n_t, n_h, n_w) = self.spec.padding, self.grid_dims
        tp, hp, wp = deck.dims
        for t in range(tp):
            whole = deck.quad(t, 0, 0, hp, wp)
            if not pt <= t < pt + n_t:
                dr.dashed_polygon(canvas, whole, MUTED, dash=3)
                continue
            if ph or pw:
                canvas.polygon(whole, fill=EMPTY_RGB)
            box, mask, rgb, _ = rasterise_slice(deck, t, pictures[t - pt], (ph, pw), self.frame_size)
            _paste(image, box, mask, rgb)
            canvas = ImageDraw.Draw(image)
            canvas.polygon(deck.quad(t, ph, pw, ph + n_h, pw + n_w), outline=OUTLINE_RGB)
            if ph or pw:
                dr.dashed_polygon(canvas, whole, MUTED, dash=3)

    def _paint_labels(self, canvas: ImageDraw.ImageDraw) -> None:
        """Axis hints on the decks, and the fixed text lines (input/kernel/output description, formulas)."""
        lay, spec, lang = self.layout, self.spec, self.lang
        small = lay.small_font
        params = say(lang, "c_params")
        n_t, n_h, n_w = self.grid_dims
        _, hp, wp = self.in_deck.dims
        pt = spec.padding[0]
        dr.text(canvas, self.in_deck.point(pt, 0, wp), " t = 0", small, MUTED, "lb")
        dr.text(canvas, self.in_deck.point(pt + n_t - 1, hp, 0), f"t = {n_t - 1} ", small, MUTED, "rt")
        to, ho, wo = self.out_deck.dims
        dr.text(canvas, self.out_deck.point(to - 1, ho, wo / 2), say(lang, "c_output"), small, MUTED, "ma")
        kt, kh, kw = spec.kernel_size
        pad = "" if spec.padding == (0, 0, 0) else say(lang, "c_padding")
        lines = [say(lang, "c_input", channels=spec.in_channels, t=n_t, h=n_h, w=n_w, padding=pad)]
        if self.plan.mode == "3d":
            lines.append(
                say(
                    lang,
                    "c_group",
                    k=self.plan.out_channel,
                    channels=spec.in_channels,
                    kt=kt,
                    kh=kh,
                    kw=kw,
                    stride=_triple_text(spec.stride),
                    pad=_triple_text(spec.padding),
                    dilation=_triple_text(spec.dilation),
                )
            )
            formula = shape_formula_text(self.grid_dims, spec).splitlines()
            line3, line2 = parameter_text(spec, params)
            ratio = parameter_counts(spec)["ratio"]
            right = [line3, line2, say(lang, "c_ratio", ratio=f"{ratio:.2f}", kt=kt)]
            for row, (left_text, right_text) in enumerate(zip(formula, right, strict=True)):
                y = lay.text_y[3 + row]
                dr.text(canvas, (lay.text_x, y), left_text, lay.font)
                dr.text(canvas, (lay.left + lay.width * 0.56, y), right_text, lay.font)
            geometry_size = dr.fit_text(lines[1], lay.small_font, lay.width - 20)
            dr.text(canvas, (lay.text_x, lay.text_y[1]), lines[1], geometry_size, MUTED)
            dr.text(canvas, (lay.text_x, lay.text_y[0]), lines[0], lay.small_font, MUTED)
            for (_, y0, x1, _), channel in zip(self.layout.cube_boxes, self.cube_channels, strict=True):
                dr.text(canvas, (x1 + 4, y0), f"c = {channel}", small, MUTED)
            x0 = self.layout.cube_boxes[0][0] if self.layout.cube_boxes else self.in_deck.bbox()[2]
            kernel_line = say(lang, "c_kernels", channels=spec.in_channels, kt=kt, kh=kh, kw=kw)
            if len(self.cube_channels) < spec.in_channels:
                kernel_line += say(lang, "c_shown", shown=len(self.cube_channels))
            dr.text(canvas, (x0, lay.header_y + 16), kernel_line, small, MUTED)
            # the output deck's back slice is top-right, so the top-left of its box is free for the arrow
            dr.text(canvas, (lay.output_box[0], lay.output_box[1] + 16), "Σ_c + b →", lay.font, anchor="lm")
            return
        _, ho2, wo2 = self.output.shape
        if self.side == "2d":
            title = say(lang, "c_2d_title", kh=kh, kw=kw)
            shape_line = say(lang, "c_2d_shape", t=to, h=ho2, w=wo2)
            params = parameter_text(self.plan.spec, params)[1]
        else:
            title = say(lang, "c_3d_title", kt=kt, kh=kh, kw=kw)
            shape_line = say(lang, "c_3d_shape", t=to, h=ho2, w=wo2)
            ratio = f"{parameter_counts(spec)['ratio']:.2f}"
            params = say(lang, "c_vs_2d", params=parameter_text(spec, params)[0], ratio=ratio)
        dr.text(canvas, (lay.text_x, lay.header_y), title, dr.fit_text(title, lay.font, lay.width - 70))
        dims = "Σ_{dh,dw}" if self.side == "2d" else "Σ_{dt,dh,dw}"
        sum_line = f"y[t,h,w] = Σ_c {dims} w·x + b"
        dr.text(canvas, (lay.text_x, lay.text_y[0]), lines[0], dr.fit_text(lines[0], lay.small_font, lay.width - 14))
        dr.text(canvas, (lay.text_x, lay.text_y[1]), sum_line, lay.font)
        dr.text(canvas, (lay.text_x, lay.text_y[3]), shape_line, dr.fit_text(shape_line, lay.font, lay.width - 14))
        dr.text(canvas, (lay.text_x, lay.text_y[4]), params, dr.fit_text(params, lay.font, lay.width - 14))

    # ---- per step -----------------------------------------------------------------------------------------------

    def _output_layer(self) -> OutputLayer:
        """Per-slice fill order and colour of every output cell, over the output deck's pixels."""
        box = clip_box(self.out_deck.bbox(), self.frame_size)
        colours = colourise_signed(self.output, self.limit)  # (T_out, H_out, W_out, 3)
        t_out, h_out, w_out = self.output.shape
        order = np.full((t_out, box[3] - box[1], box[2] - box[0]), NEVER, np.int64)  # (T_out, h_px, w_px)
        rgb = np.zeros((*order.shape, 3), np.uint8)
        for t in range(t_out):
            (x0, y0, x1, y1), mask, slice_rgb, flat = rasterise_slice(
                self.out_deck, t, colours[t], (0, 0), self.frame_size, border=0.85
            )
            rows, cols = slice(y0 - box[1], y1 - box[1]), slice(x0 - box[0], x1 - box[0])
            order[t, rows, cols] = np.where(mask, t * h_out * w_out + flat, NEVER)
            rgb[t, rows, cols] = slice_rgb
        return OutputLayer(box=box, order=order, rgb=rgb, cells_per_slice=h_out * w_out)

    def composite_output(self, frame: np.ndarray, step: int) -> None:
        """Write the output cells filled by ``step`` into ``frame`` (H, W, 3) in place."""
        x0, y0, x1, y1 = self.layer.box
        frame[y0:y1, x0:x1] = self.layer.composite(filled_count(self.output.size, self.plan.steps, step))

    def precompose(self, background: np.ndarray) -> None:
        """Cache the output deck's completed-slice pictures over the finished background ``(H, W, 3)``."""
        x0, y0, x1, y1 = self.layer.box
        self.layer.precompose(background[y0:y1, x0:x1])

    def paint_step(self, canvas: ImageDraw.ImageDraw, step: int) -> StepTerms:
        """Kernel box on the input deck (and cubes), highlighted output cell, the per-step numbers."""
        terms = step_terms(self.plan, step, self.side)
        scale = max(1, round(self.layout.font / 11))
        self._paint_kernel(canvas, self.in_deck, terms, detailed=True, width=scale)
        for deck in self.cube_decks:
            self._paint_kernel(canvas, deck, terms, detailed=False, width=1)
        t, h, w = terms.index
        dr.emphasised_polygon(canvas, self.out_deck.quad(t, h, w, h + 1, w + 1), KERNEL_RGB, 1 + scale)
        self._paint_numbers(canvas, terms)
        return terms

    def _paint_kernel(
        self, canvas: ImageDraw.ImageDraw, deck: Deck, terms: StepTerms, detailed: bool, width: int
    ) -> None:
        """The kernel's envelope box, and on the main deck the window (or the dilated taps) on every tapped slice."""
        t0, h0, w0 = terms.window_start
        (et, eh, ew), (kt, kh, kw), (dt, dh, dw) = self.spec.extent, self.spec.kernel_size, self.spec.dilation
        edges = deck.box_edges(t0, t0 + et - 1, h0, h0 + eh, w0, w0 + ew)
        if not detailed:
            dr.emphasised_lines(canvas, edges, KERNEL_RGB, width)
            return
        for i in range(kt):
            t = t0 + i * dt
            if dh == 1 and dw == 1:
                dr.emphasised_polygon(canvas, deck.quad(t, h0, w0, h0 + kh, w0 + kw), KERNEL_RGB, width + 1)
                continue
            for j in range(kh):
                for k in range(kw):
                    h, w = h0 + j * dh, w0 + k * dw
                    canvas.polygon(deck.quad(t, h, w, h + 1, w + 1), outline=KERNEL_RGB)
        dr.emphasised_lines(canvas, edges, KERNEL_RGB, width)

    def _paint_numbers(self, canvas: ImageDraw.ImageDraw, terms: StepTerms) -> None:
        """The written-out sum for this step (and each cube's partial sum in the 3D layout)."""
        lay = self.layout
        t, h, w = terms.index
        # the numbers a sum is made of set its float noise: a partial that cancels is 0, not −2.87e-07
        scale = max([abs(float(p)) for p in terms.partials] + [abs(float(terms.total)), self.limit])
        parts = [dr.signed_term(p, scale) for p in terms.partials]
        if len(parts) > 4:
            parts = [*parts[:2], "…", parts[-1]]
        bias = f" + b({dr.number(terms.bias, scale)})" if self.spec.bias is not None else ""
        numbers = f"{' + '.join(parts)}{bias} = {dr.number(terms.total, scale)}"
        if self.plan.mode == "3d":
            line = f"y[{t},{h},{w}] = Σ_c Σ_{{dt,dh,dw}} w·x + b = {numbers}"
            dr.text(canvas, (lay.text_x, lay.text_y[2]), line, dr.fit_text(line, lay.font, lay.width - 20))
            for (_, y0, x1, y1), channel in zip(lay.cube_boxes, self.cube_channels, strict=True):
                value = f"Σ = {dr.number(terms.partials[channel], scale)}"
                dr.text(canvas, (x1 + 4, (y0 + y1) / 2), value, lay.small_font)
            return
        line = f"y[{t},{h},{w}] = {numbers}"
        dr.text(canvas, (lay.text_x, lay.text_y[2]), line, dr.fit_text(line, lay.font, lay.width - 14))


def _shown_channels(channels: int, slots: int) -> list[int]:
    """Which input channels get a cube: all when they fit, else the first ones and the last."""
    if channels <= slots or slots == 0:
        return list(range(min(channels, slots)))
    return [*range(slots - 1), channels - 1]


def _triple_text(values: tuple[int, int, int]) -> str:
    """(1, 2, 2) as written on screen."""
    return "(" + ",".join(str(v) for v in values) + ")"


def _paste(image: Image.Image, box: PixelBox, mask: np.ndarray, rgb: np.ndarray) -> None:
    """Copy masked pixels of ``rgb`` into ``image`` at ``box``."""
    region = np.array(image.crop(box))  # (h, w, 3)
    region[mask] = rgb[mask]
    image.paste(Image.fromarray(region), box[:2])
