"""The one typeface: DejaVu where matplotlib has it, an ASCII spelling the bundled font can draw otherwise."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from PIL import Image, ImageFont

from visualiser.render import text
from visualiser.render.conv3d.kernels import teaching_kernel
from visualiser.render.conv3d.spec import parameter_text, shape_formula_text

# Strings the renderers really write, symbols included (the 3D animation's formulas among them).
_SPEC = teaching_kernel("motion")
WRITTEN = [
    shape_formula_text((8, 16, 16), _SPEC).splitlines()[0],
    *parameter_text(_SPEC),
    "Σ_c + b →",
    "S4·B2 cbam spatial gate 7×7",
    "gate = σ(x) ≥ 0.9, ≤ 0.1 … 2² – 1",
]


def _missing_glyph_mask(face: ImageFont.FreeTypeFont) -> bytes:
    return bytes(face.getmask("\uffff"))  # a code point no font has: the "tofu" box


def test_the_face_is_matplotlibs_dejavu_so_figures_and_pictures_share_it():
    import matplotlib

    path = text.font_path()
    assert path is not None and path.name == "DejaVuSans.ttf"
    assert path.is_relative_to(matplotlib.get_data_path())
    assert text.has_symbols()
    assert text.font(14).getname()[0] == "DejaVu Sans"
    assert text.font(14) is text.font(14)  # cached: one face object per size


@pytest.mark.parametrize("line", WRITTEN)
def test_every_symbol_written_is_in_the_face(line):
    face = text.font(14)
    tofu = _missing_glyph_mask(face)
    assert all(bytes(face.getmask(c)) != tofu for c in line if not c.isspace())
    assert text.printable(line) == line  # nothing is spelled out while the face has the symbols


@pytest.mark.parametrize("line", WRITTEN)
def test_the_ascii_spelling_is_drawable_by_the_bundled_fallback_font(line):
    bundled = ImageFont.load_default(size=14)
    tofu = _missing_glyph_mask(bundled)
    spelled = text.ascii_spelling(line)
    missing = [c for c in spelled if not c.isspace() and bytes(bundled.getmask(c)) == tofu]
    assert missing == [], f"{spelled!r} still has {missing}"


def test_fallback_spells_symbols_in_ascii(monkeypatch):
    monkeypatch.setattr(text, "has_symbols", lambda: False)
    assert text.printable("3×3 → Σ_c") == "3x3 -> sum _c"
    assert text.printable("plain text") == "plain text"


def test_draw_text_puts_the_glyphs_where_the_anchor_says():
    mask = text.text_mask("Attention", 14)
    assert mask.dtype == np.uint8 and mask.max() == 255 and not mask.flags.writeable
    assert text.text_width("Attention", 14) == mask.shape[1] > text.text_width("Att", 14)
    for anchor, x in (("la", 10), ("ma", 100), ("ra", 190)):
        image = Image.new("RGB", (200, 40), (255, 255, 255))
        text.draw_text(image, (x, 5), "Attention", 14, (0, 0, 0), anchor)
        inked = np.nonzero(np.asarray(image)[..., 0] < 128)
        left, right = inked[1].min(), inked[1].max() + 1
        if anchor == "la":
            assert 10 <= left <= 12
        elif anchor == "ra":
            assert 188 <= right <= 190
        else:
            assert abs((left + right) / 2 - 100) <= 2
        assert inked[0].min() >= 5  # "a": the top of the line is at y


def test_shorten_fits_the_width_and_keeps_text_that_fits():
    assert text.shorten("cat", 200, 13) == "cat"
    long = "a very long class name " * 6
    short = text.shorten(long, 120, 13)
    assert short.endswith("...") and long.startswith(short[:-3])
    assert text.text_width(short, 13) <= 120 < text.text_width(long, 13)


def test_shorten_keeps_the_longest_prefix_that_fits():
    rng = random.Random(3)
    for _ in range(40):
        long = "".join(rng.choice("il WMx·→é中") for _ in range(rng.randint(1, 60)))
        width = rng.randint(10, 300)
        short = text.shorten(long, width, 13)
        if text.text_width(long, 13) <= width:
            assert short == long
            continue
        kept = len(short) - 3
        assert short == long[:kept] + "..."
        assert kept == 0 or text.text_width(short, 13) <= width
        assert text.text_width(long[: kept + 1] + "...", 13) > width  # one character more would not fit


def test_shorten_measures_a_megabyte_label_a_logarithmic_number_of_times(monkeypatch):
    """A class name of 1.5 MB (a labels file may be 2 MB) costs a few short measurements, not a million long ones."""
    measured: list[int] = []
    real = text.text_width
    monkeypatch.setattr(text, "text_width", lambda s, size=14: measured.append(len(s)) or real(s, size))
    label = "x" * 1_500_000
    short = text.shorten(label, 150, 13)
    assert short.endswith("...") and label.startswith(short[:-3]) and real(short, 13) <= 150
    assert len(measured) <= 2 * math.ceil(math.log2(152)) + 2
    assert max(measured) <= 151 + 3  # never more than the width allows, plus the ellipsis
