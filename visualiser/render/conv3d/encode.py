"""Write the animation to MP4 (H.264 through PyAV) or to a looping GIF (Pillow).

Frames go straight from numpy to the encoder; nothing is written as intermediate images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from visualiser.errors import VisualiserError
from visualiser.media.encode import write_video
from visualiser.render.conv3d.animate import scene_for
from visualiser.render.conv3d.layout import check_size
from visualiser.render.conv3d.plan import AnimationPlan


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
