"""The one palette: the diverging map exists once (and is matplotlib's RdBu_r), honest ranges, white is zero."""

from __future__ import annotations

import numpy as np
import pytest

from visualiser.render import colour


def test_the_written_out_diverging_map_is_matplotlibs_rdbu_r():
    np.testing.assert_array_equal(colour.diverging_lut(), colour.lut(colour.DIVERGING_CMAP))
    assert colour.DIVERGING_CMAP == "RdBu_r"


def test_signed_colours_are_white_at_zero_blue_below_and_red_above():
    limit = colour.symmetric_limit(np.array([-2.0, 0.5]), np.array([1.0]))
    assert limit == 2.0
    low, zero, high = colour.colourise_signed(np.array([-2.0, 0.0, 2.0]), limit)
    assert abs(int(zero[0]) - int(zero[2])) <= 1 and zero.min() >= 240  # neutral, near white
    assert low[2] > low[0] and high[0] > high[2]
    np.testing.assert_array_equal(colour.colourise_signed(np.array([-5.0, 5.0]), limit), [low, high])  # clipped
    assert colour.symmetric_limit(np.zeros(3)) == 1.0  # nothing divides by zero


def test_colourise_spans_the_range_and_a_flat_range_is_the_middle_colour():
    table = colour.lut("viridis")
    np.testing.assert_array_equal(colour.colourise(np.array([0.2, 0.7]), 0.2, 0.7), table[[0, 255]])
    np.testing.assert_array_equal(colour.colourise(np.array([3.0]), 3.0, 3.0), table[[128]])
    with pytest.raises(ValueError, match="unknown colormap"):
        colour.lut("no-such-map")


def test_value_ranges():
    own = np.array([0.2, 0.4])
    maps = [own, np.array([0.0, 0.9])]
    assert colour.value_range(maps, "block", own) == pytest.approx((0.2, 0.4))
    assert colour.value_range(maps, "shared", own) == pytest.approx((0.0, 0.9))
    assert colour.value_range(maps, "fixed01", own) == (0.0, 1.0)
    with pytest.raises(ValueError, match="normalise"):
        colour.value_range(maps, "global", own)  # type: ignore[arg-type]


def test_categorical_colours_are_distinct_hex_codes():
    assert len(set(colour.CATEGORICAL)) == len(colour.CATEGORICAL) == 8
    assert all(len(c) == 7 and c.startswith("#") and int(c[1:], 16) >= 0 for c in colour.CATEGORICAL)
