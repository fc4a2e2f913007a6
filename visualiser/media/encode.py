"""Writing video: the one encoder every part of the project uses (attention videos, the 3D animation, examples).

H.264 in MP4 goes out with one x264 setting (``X264_OPTIONS``); other codecs and containers exist for the
test corpus (VP9/WebM, MJPEG/AVI, variable frame rates, rotation metadata). Frames may be a lazy iterable,
so a long animation is drawn and encoded one frame at a time.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# veryfast at crf 20: 2.7x faster than x264's default (medium) on 480x400 overlay frames with files no larger;
# one thread, because at these sizes x264's frame threads cost more in start-up and hand-over than they gain
# on 2 shared cores (measured when the attention video and the 3D animation were each written on their own).
X264_OPTIONS = {"preset": "veryfast", "crf": "20", "threads": "1"}
_PIX_FMT = {"mjpeg": "yuvj420p", "gif": "rgb8", "png": "rgb24", "ffv1": "yuv444p"}


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float = 8.0,
    codec: str = "libx264",
    *,
    crf: int | None = None,
    times: Sequence[float] | None = None,
    rotation: int = 0,
    gop: int | None = None,
    size: tuple[int, int] | None = None,
) -> Path:
    """Encode (H, W, 3) uint8 frames into ``path`` (the container follows the suffix); returns the path.

    Args:
        path: Output file; ``.mp4``, ``.mkv``, ``.webm``, ``.avi``, ``.mov`` ...
        frames: The pictures, all the same size; may be empty (a stream with no frames) when ``size`` is given.
        fps: Nominal rate, used for timestamps unless ``times`` is given.
        codec: An FFmpeg encoder: ``libx264`` (the project's one H.264 setting), ``libvpx-vp9``, ``mjpeg`` ...
        crf: x264 / VP9 constant-rate factor; None keeps ``X264_OPTIONS``' value (lower is better quality).
        times: Presentation times in seconds (strictly increasing) for a variable-frame-rate file.
        rotation: Display rotation written as container metadata, degrees counter-clockwise (as PyAV reads it).
        gop: Keyframe interval in frames; encoder default if None.
        size: (width, height) when it cannot be read from the first frame (no frames).

    Raises:
        ValueError: Bad shapes, odd sizes for a 4:2:0 codec, or times that do not match the frames.
    """
    iterator = iter(frames)
    first = next(iterator, None)
    if first is not None:
        height, width = first.shape[:2]
    elif size is not None:
        width, height = size
    else:
        raise ValueError("no frames to encode and no size given")
    pix_fmt = _PIX_FMT.get(codec, "yuv420p")
    if pix_fmt.endswith("420p") and (width % 2 or height % 2):
        raise ValueError(f"{codec} with {pix_fmt} needs even width and height, got {width}×{height}")
    if times is not None and any(b <= a for a, b in itertools.pairwise(times)):
        raise ValueError("times must be strictly increasing")
    rate = Fraction(fps).limit_denominator(1001)
    time_base = Fraction(1, 1000) if times is not None else 1 / rate
    out = Path(path)
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if gop is not None:
            stream.codec_context.gop_size = gop
        stream.options = _options(codec, crf)
        if rotation:
            stream.set_display_rotation(rotation)
        container.start_encoding()  # writes the header even when there are no frames to mux
        count = 0
        for index, pixels in enumerate(itertools.chain([] if first is None else [first], iterator)):
            _check_frame(pixels, (height, width, 3))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            if times is not None:
                if index >= len(times):
                    raise ValueError("times must give one time per frame")
                frame.pts = round(times[index] * 1000)
            else:
                frame.pts = index
            frame.time_base = time_base
            container.mux(stream.encode(frame))
            count += 1
        if times is not None and count != len(times):
            raise ValueError("times must give one time per frame")
        container.mux(stream.encode(None))
    return out


def _check_frame(frame: np.ndarray, shape: tuple[int, int, int]) -> None:
    if frame.shape != shape or frame.dtype != np.uint8:
        raise ValueError(f"frames must all be {shape} uint8 like the first, got {frame.shape} {frame.dtype}")


def _options(codec: str, crf: int | None) -> dict[str, str]:
    if codec in ("libx264", "h264"):
        options = dict(X264_OPTIONS)
        if crf is not None:
            options["crf"] = str(crf)
        return options
    if codec.startswith("libvpx"):
        return {"deadline": "realtime", "cpu-used": "8", "crf": str(10 if crf is None else crf), "b": "0"}
    return {}
