"""The load test's inputs and how answers are compared: distinct PNGs, fresh bytes per request, tolerances."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOLERANCE = 1e-5
# Wall-clock times differ between runs by nature; the source's name and digest describe the uploaded file (each
# request sends fresh bytes), not what the network computed.
VOLATILE_SUMMARY_KEYS = frozenset({"timings", "source", "source_sha1"})


def write_inputs(directory: Path, count: int) -> list[Path]:
    """``count`` distinct PNGs from the shapes generator, each a different size so their geometry differs too."""
    from PIL import Image

    from tools.data.shapes import make_sample, sample_rng

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        sample = make_sample(sample_rng(2024, index), size=96 + 8 * index)
        path = directory / f"input{index}.png"
        Image.fromarray(sample.image).save(path)
        paths.append(path)
    return paths


def with_nonce(png: bytes, nonce: str) -> bytes:
    """The same PNG with a ``tEXt`` chunk carrying ``nonce`` after the header: identical pixels, new bytes."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG that starts with its IHDR chunk")
    header_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    payload = b"loadtest\x00" + nonce.encode("ascii")
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload + struct.pack(">I", zlib.crc32(b"tEXt" + payload))
    return png[:header_end] + chunk + png[header_end:]


@dataclass(frozen=True)
class Answer:
    """What ``/analyse_image`` returned, minus what legitimately varies (timings, file names)."""

    top: tuple[tuple[str, float], ...]
    has_overlay: bool
    summary: dict[str, Any]


def answer_from(result: Sequence[Any]) -> Answer:
    """Normalise the endpoint's ``(label, overlay, summary)`` outputs (from gradio_client or the raw queue)."""
    label, overlay, summary = result
    top = tuple((str(c["label"]), float(c["confidence"])) for c in label["confidences"])
    stable = {k: v for k, v in summary.items() if k not in VOLATILE_SUMMARY_KEYS}
    return Answer(top=top, has_overlay=overlay is not None, summary=stable)


def same_values(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    """Structural equality of JSON values, numbers within ``tolerance`` (booleans and strings exactly)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=tolerance) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_values(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return a == b


def same_answer(a: Answer, b: Answer, tolerance: float = TOLERANCE) -> bool:
    """Top-5 labels equal, their probabilities within ``tolerance``, same overlay presence, same summary."""
    return (
        [name for name, _ in a.top] == [name for name, _ in b.top]
        and same_values([p for _, p in a.top], [p for _, p in b.top], tolerance)
        and a.has_overlay == b.has_overlay
        and same_values(a.summary, b.summary, tolerance)
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between order statistics; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
