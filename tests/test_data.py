"""The procedural datasets: deterministic, sliceable, and their ground truth matches the pixels."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.data import motion, shapes
from tools.data.geometry import SHAPES, mask_box, shape_alpha


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


# --- geometry -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "area_per_r2"),
    [
        ("circle", math.pi),
        ("square", 2 * 0.92**2),  # a square inscribed in a circle of radius 0.92 r
        ("hexagon", 3 * math.sqrt(3) / 2 * 0.95**2),
        ("ring", math.pi * (1 - 0.56**2)),
    ],
)
def test_filled_shape_area_matches_formula(kind, area_per_r2):
    r = 30.0
    alpha = shape_alpha(kind, 100, 50.0, 50.0, r, angle=0.3, ring_inner=0.56)
    assert alpha.sum() == pytest.approx(area_per_r2 * r * r, rel=0.03)


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(SHAPES),
    cx=st.floats(25, 55),
    cy=st.floats(25, 55),
    r=st.floats(8, 20),
    angle=st.floats(0, 2 * math.pi),
)
def test_shapes_are_centred_where_asked(kind, cx, cy, r, angle):
    alpha = shape_alpha(kind, 80, cx, cy, r, angle)
    ys, xs = np.mgrid[0:80, 0:80] + 0.5  # pixel centres
    assert (alpha * xs).sum() / alpha.sum() == pytest.approx(cx, abs=0.35)
    assert (alpha * ys).sum() / alpha.sum() == pytest.approx(cy, abs=0.35)


def test_outline_covers_less_than_fill_and_lies_on_it():
    filled = shape_alpha("hexagon", 96, 48, 48, 30, style="filled") > 0.5
    outline = shape_alpha("hexagon", 96, 48, 48, 30, style="outline", stroke=0.2) > 0.5
    assert outline.sum() < 0.6 * filled.sum()
    assert not outline[48, 48]  # the middle is empty
    assert filled[48, 48]


def test_unknown_shape_is_rejected():
    with pytest.raises(ValueError, match="unknown shape"):
        shape_alpha("pentagon", 32, 16, 16, 8)


def test_mask_box_is_exclusive_and_empty_safe():
    m = np.zeros((10, 12), bool)
    assert mask_box(m) == (0, 0, 0, 0)
    m[2:5, 3:9] = True
    assert mask_box(m) == (3, 2, 9, 5)


# --- shapes ---------------------------------------------------------------------------------------


def test_shapes_stream_is_deterministic_and_sliceable():
    whole = shapes.make_batch(7, 6, size=64)
    again = shapes.make_batch(7, 6, size=64)
    tail = shapes.make_batch(7, 3, size=64, start=3)
    np.testing.assert_array_equal(whole.images, again.images)
    np.testing.assert_array_equal(whole.images[3:], tail.images)
    np.testing.assert_array_equal(whole.labels[3:], tail.labels)
    other = shapes.make_batch(8, 6, size=64)
    assert not np.array_equal(whole.images, other.images)


def test_shape_samples_have_consistent_ground_truth():
    batch = shapes.make_batch(3, 40, size=96)
    assert batch.images.shape == (40, 96, 96, 3) and batch.images.dtype == np.uint8
    assert batch.masks.shape == (40, 96, 96) and batch.masks.dtype == bool
    assert set(batch.labels.tolist()) <= set(range(len(shapes.CLASSES)))
    for mask, box in zip(batch.masks, batch.boxes, strict=True):
        assert mask.sum() > 20  # the object is visible
        assert tuple(box) == _bbox(mask)


def test_every_class_is_drawn_and_labels_are_balanced():
    labels = shapes.make_batch(11, 400, size=48).labels
    counts = np.bincount(labels, minlength=len(shapes.CLASSES))
    assert len(shapes.CLASSES) >= 8 and (counts > 25).all()


def test_object_pixels_stand_out_from_the_background_around_them():
    # The object must be visible: its mean colour differs from a ring of pixels around its box.
    diffs = []
    for i in range(30):
        s = shapes.make_sample(shapes.sample_rng(5, i), size=96)
        img = s.image.astype(np.float32)
        x0, y0, x1, y1 = s.box
        around = np.zeros(s.mask.shape, bool)
        around[max(0, y0 - 4) : y1 + 4, max(0, x0 - 4) : x1 + 4] = True
        around &= ~s.mask
        diffs.append(np.linalg.norm(img[s.mask].mean(0) - img[around].mean(0)))
    assert np.median(diffs) > 40


def test_explicit_label_is_honoured():
    for label in range(len(shapes.CLASSES)):
        assert shapes.make_sample(np.random.default_rng(label), size=48, label=label).label == label


# --- motion ---------------------------------------------------------------------------------------


def _centroids(masks: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[0 : masks.shape[1], 0 : masks.shape[2]]
    return np.array([[(xs * m).sum() / m.sum(), (ys * m).sum() / m.sum()] for m in masks])  # (T, 2)


def _turn_between(m0: np.ndarray, m1: np.ndarray) -> float:
    """The rotation about the centroid (degrees, clockwise on screen positive) that best maps m0 onto m1."""
    ys, xs = np.nonzero(m1)
    c0 = np.array(np.nonzero(m0)).mean(1)[::-1]  # (x, y)
    c1 = np.array([xs.mean(), ys.mean()])
    best, best_score = 0.0, -1.0
    for deg in range(-25, 26):
        a = math.radians(deg)
        # Pull each pixel of m1 back by -a (y points down, so +a turns clockwise on screen).
        dx, dy = xs - c1[0], ys - c1[1]
        bx = np.rint(math.cos(a) * dx + math.sin(a) * dy + c0[0]).astype(int)
        by = np.rint(-math.sin(a) * dx + math.cos(a) * dy + c0[1]).astype(int)
        ok = (bx >= 0) & (bx < m0.shape[1]) & (by >= 0) & (by < m0.shape[0])
        score = m0[by[ok], bx[ok]].mean()
        if score > best_score:
            best, best_score = float(deg), float(score)
    return best


def _turning(masks: np.ndarray) -> float:
    """Median per-frame turn of a mask sequence, in degrees (clockwise positive)."""
    return float(np.median([_turn_between(a, b) for a, b in itertools.pairwise(masks)]))


@pytest.mark.parametrize("motion_name", motion.CLASSES)
def test_clip_motion_matches_its_class(motion_name):
    label = motion.CLASSES.index(motion_name)
    clip = motion.make_clip(np.random.default_rng(100 + label), frames=16, size=64, label=label)
    assert clip.frames.shape == (16, 64, 64, 3) and clip.frames.dtype == np.uint8
    c = _centroids(clip.masks)
    dx, dy = c[-1] - c[0]
    area = clip.masks.reshape(16, -1).sum(1)
    if motion_name in ("left", "right", "up", "down"):
        along = {"left": -dx, "right": dx, "up": -dy, "down": dy}[motion_name]
        assert along > 12
        assert area.max() / area.min() < 1.3
    elif motion_name in ("grow", "shrink"):
        ratio = area[-1] / area[0]
        assert (ratio > 2.5) if motion_name == "grow" else (ratio < 0.4)
        assert np.hypot(dx, dy) < 2
    else:
        assert np.hypot(dx, dy) < 2
        turn = _turning(clip.masks)
        assert (turn >= 5) if motion_name == "rotate_cw" else (turn <= -5)
    for mask, box in zip(clip.masks, clip.boxes, strict=True):
        assert tuple(box) == _bbox(mask)


def test_motion_stream_is_deterministic_and_sliceable():
    whole = motion.make_batch(4, 4, frames=8, size=48)
    tail = motion.make_batch(4, 2, frames=8, size=48, start=2)
    np.testing.assert_array_equal(whole.clips[2:], tail.clips)
    np.testing.assert_array_equal(whole.labels[2:], tail.labels)
    assert whole.clips.shape == (4, 8, 48, 48, 3) and whole.masks.shape == (4, 8, 48, 48)
    assert whole.boxes.shape == (4, 8, 4)


def test_background_moves_at_most_slowly():
    # Frames differ away from the object only by noise or a slow pan: the mean absolute change between
    # consecutive background pixels stays far below the change on the object's path.
    clip = motion.make_clip(np.random.default_rng(3), frames=16, size=64, label=motion.CLASSES.index("right"))
    f = clip.frames.astype(np.float32)
    untouched = ~clip.masks.any(0)
    bg_change = np.abs(np.diff(f, axis=0))[:, untouched].mean()
    obj_change = np.abs(np.diff(f, axis=0))[:, clip.masks.any(0)].mean()
    assert obj_change > 2 * bg_change
