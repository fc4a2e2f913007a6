"""Frames of the animation, and the files: a background drawn once per plan and size, then cheap per-step
layers, written to MP4 (H.264 through PyAV) or a looping GIF (Pillow) straight from numpy.

Speed is the point of this module: matplotlib voxels + FuncAnimation draw ~3 frames/s, while a
copied numpy background plus a few ImageDraw calls per step runs far above the 60 frames/s
(encoding included) that makes scrubbing and exporting feel instant (see ``tools/conv3d_bench.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from visualiser.errors import VisualiserError
from visualiser.media.encode import write_video
from visualiser.render.colour import BACKGROUND, MUTED, symmetric_limit
from visualiser.render.conv3d import draw as dr
from visualiser.render.conv3d.layout import check_size, layout_3d, layout_compare
from visualiser.render.conv3d.panel import Panel
from visualiser.render.conv3d.plan import AnimationPlan
from visualiser.render.words import figure_lang, say


class Scene:
    """The drawn state of one plan at one frame size: background pixels and the panels that draw on it."""

    def __init__(self, plan: AnimationPlan, size: tuple[int, int], lang: str = "en") -> None:
        self.plan = plan
        self.lang = lang
        self.size = check_size(size)
        width, height = self.size
        if plan.mode == "3d":
            limit = symmetric_limit(plan.output)
            self.panels = [Panel(plan, "3d", layout_3d(self.size, plan.grid.shape[0]), limit, self.size, lang)]
        else:
            limit = symmetric_limit(plan.output, plan.side("2d")[1])
            self.panels = [
                Panel(plan, "2d", layout_compare(self.size, right=False), limit, self.size, lang),
                Panel(plan, "3d", layout_compare(self.size, right=True), limit, self.size, lang),
            ]
        image = Image.new("RGB", self.size, BACKGROUND)
        for panel in self.panels:
            panel.paint_static(image)
        canvas = ImageDraw.Draw(image)
        font = self.panels[0].layout.font
        if plan.mode == "3d":
            spec = plan.spec
            title = say(lang, "c_title", source=spec.source, k=plan.out_channel, groups=spec.out_channels)
            dr.text(canvas, (8, self.panels[0].layout.header_y), title, dr.fit_text(title, font, width - 90))
        else:
            canvas.line([(width / 2, 4), (width / 2, height - 4)], fill=MUTED)
        self.background = np.asarray(image).copy()  # (H, W, 3) uint8, never modified
        for panel in self.panels:
            panel.precompose(self.background)

    def draw(self, step: int) -> np.ndarray:
        """``(H, W, 3)`` uint8 frame for ``step``."""
        if not 0 <= step < self.plan.steps:
            raise VisualiserError(f"step must be between 0 and {self.plan.steps - 1}; got {step}.")
        frame = self.background.copy()
        for panel in self.panels:
            panel.composite_output(frame, step)
        image = Image.fromarray(frame)
        canvas = ImageDraw.Draw(image)
        for panel in self.panels:
            panel.paint_step(canvas, step)
        last = self.panels[-1].layout
        counter = say(self.lang, "c_step", step=step + 1, steps=self.plan.steps)
        dr.text(canvas, (self.size[0] - 6, last.header_y), counter, last.small_font, MUTED, "ra")
        return np.asarray(image)


def scene_for(plan: AnimationPlan, size: tuple[int, int], lang: str = "en") -> Scene:
    """The plan's cached scene for this size and language, built on first use."""
    lang = figure_lang(lang)
    key = (*(int(v) for v in size), lang)
    scene = plan.scenes.get(key)
    if scene is None:
        scene = Scene(plan, key[:2], lang)  # type: ignore[arg-type]
        plan.scenes[key] = scene
    return scene


def frame_at(plan: AnimationPlan, step: int, size: tuple[int, int] = (640, 360), lang: str = "en") -> np.ndarray:
    """The frame shown at ``step`` as ``(height, width, 3)`` uint8; any step, in any order."""
    return scene_for(plan, size, lang).draw(step)


def render_mp4(
    plan: AnimationPlan, path: str | Path, fps: int = 12, size: tuple[int, int] = (640, 360), lang: str = "en"
) -> Path:
    """Encode every step as one H.264 (yuv420p) frame; width and height must be even for 4:2:0."""
    width, height = check_size(size)
    if width % 2 or height % 2:
        raise VisualiserError(f"H.264 (yuv420p) needs an even width and height; got {width}×{height}.")
    fps = _check_fps(fps)
    out = Path(path)
    scene = scene_for(plan, (width, height), lang)
    return write_video(out, (scene.draw(step) for step in range(plan.steps)), fps)


def render_gif(plan: AnimationPlan, path: str | Path, fps: int = 8, size: tuple[int, int] = (640, 360)) -> Path:
    """Write a looping GIF; one shared palette (taken from the fully filled last frame) keeps colours steady."""
    fps = _check_fps(fps)
    out = Path(path)
    scene = scene_for(plan, check_size(size))
    palette = Image.fromarray(scene.draw(plan.steps - 1)).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    frames = [_to_palette(scene.draw(step), palette) for step in range(plan.steps)]
    frames[0].save(
        out, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0, optimize=False, disposal=1
    )
    return out


def _to_palette(frame: np.ndarray, palette: Image.Image) -> Image.Image:
    """Map a frame onto the shared palette without dithering (dither noise would make every frame differ)."""
    return Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE)


def _check_fps(fps: int) -> int:
    if int(fps) < 1 or int(fps) > 60:
        raise VisualiserError(f"fps must be between 1 and 60; got {fps}.")
    return int(fps)
