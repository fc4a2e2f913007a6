"""The inputs the out-of-distribution score is measured on, each preprocessed exactly as the app does.

Inside: fresh generated streams, the shipped shape / motion examples, and shifted-but-same-domain
variants (less clutter, a larger or smaller object). Outside: real photographs (the four shipped ones,
plus every photograph bundled with an installed package on this machine, found without downloading
anything), real clips, and camera moves over the photographs; also non-photo cases (graphics, flat
grey, noise) so a reader sees what the score calls outside. Each photograph counts once as the app sees
it (``view == "app"``) and five more times as crops (centre 60 %, four quadrants), which the figures
report separately.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tools.data import motion, shapes
from tools.data.textures import background, to_uint8
from visualiser.media import load_clip, load_image
from visualiser.models.registry import Preprocess
from visualiser.paths import EXAMPLES_DIR
from visualiser.preprocess import preprocess_clip, preprocess_image

CAMERA_MOVES = ("pan_left", "pan_right", "pan_up", "pan_down", "zoom_in", "zoom_out")
CAMERA_SIDE = 128  # camera-move frames are drawn at this size, then preprocessed like any clip

# Real photographs and graphics shipped inside installed packages: (group, package, path inside it).
# Facts about what each file shows were checked by eye; nothing here is downloaded.
BUNDLED_IMAGES: tuple[tuple[str, str, str], ...] = (
    ("photo", "gradio", "media_assets/images/cheetah.jpg"),
    ("photo", "gradio", "media_assets/images/cheetah1.jpg"),
    ("photo", "gradio", "test_data/cheetah2.jpg"),
    ("photo", "gradio", "media_assets/images/lion.jpg"),
    ("photo", "gradio", "media_assets/images/tower.jpg"),
    ("photo", "gradio", "media_assets/images/groot.jpeg"),  # a film still (computer-rendered character)
    ("photo", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("graphic", "gradio", "media_assets/images/bus.png"),
    ("graphic", "gradio", "media_assets/images/hf-logo_transpng.png"),
    ("graphic", "gradio", "media_assets/images/screenshot.gif"),
    ("graphic", "matplotlib", "mpl-data/sample_data/Minduka_Present_Blue_Pack.png"),
    ("graphic", "matplotlib", "mpl-data/sample_data/logo2.png"),
)
# Photographs in documentation that some machines carry (the Rust toolchain's embedded book: a circuit board).
DOC_PHOTO_GLOBS: tuple[str, ...] = ("~/.rustup/toolchains/*/share/doc/rust/html/embedded-book/assets/*.jp*g",)
BUNDLED_CLIPS: tuple[tuple[str, str, str], ...] = (
    ("clip", "gradio", "media_assets/videos/b.mp4"),  # the night-side Earth turning (NASA imagery)
    ("clip", "gradio", "media_assets/videos/world.mp4"),  # the same, longer
    ("graphic", "gradio", "media_assets/videos/a.mp4"),  # an animated "thanks for watching" title
)


@dataclass(frozen=True)
class InputSet:
    """Network-ready inputs of one group, with a name per input."""

    group: str
    names: tuple[str, ...]
    inputs: torch.Tensor  # (N, 3, H, W) or (N, 3, T, H, W), normalised as the model expects
    app_view: tuple[bool, ...]  # whether the input is a whole file as the app would see it (not an extra crop)


@dataclass(frozen=True)
class SourceFile:
    """A file the measurement used, recorded with its digest so the figures can be traced."""

    group: str
    name: str
    path: Path
    sha256: str


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_files(catalogue: tuple[tuple[str, str, str], ...], globs: tuple[str, ...] = ()) -> list[SourceFile]:
    """The catalogue's files that exist here (and files matching ``globs``, as photos), each content once."""
    found: list[SourceFile] = []
    seen: set[str] = set()
    candidates: list[tuple[str, str, Path]] = []
    for group, package, relative in catalogue:
        root = _package_dir(package)
        if root is not None:
            candidates.append((group, f"{package}/{relative}", root / relative))
    for pattern in globs:
        home_pattern = Path(pattern).expanduser()
        root = Path(home_pattern.anchor)
        for path in sorted(root.glob(str(home_pattern.relative_to(root)))):
            candidates.append(("photo", f"rust-doc/{path.name}", path))
    for group, name, path in candidates:
        if not path.is_file():
            continue
        digest = _digest(path)
        if digest in seen:
            continue
        seen.add(digest)
        found.append(SourceFile(group, name, path, digest))
    return found


def shipped_files(folder: str, suffix: str, group: str) -> list[SourceFile]:
    """Files of ``assets/examples/<folder>`` with ``suffix``, sorted by name."""
    paths = sorted((EXAMPLES_DIR / folder).glob(f"*{suffix}"))
    return [SourceFile(group, f"{folder}/{p.name}", p, _digest(p)) for p in paths]


def photo_views(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The photo itself and five crops of it (centre 60 % of the short side, the four quadrants)."""
    h, w = pixels.shape[:2]
    side = max(1, int(0.6 * min(h, w)))
    top, left = (h - side) // 2, (w - side) // 2
    hh, hw = h // 2, w // 2
    return {
        "app": pixels,
        "centre60": pixels[top : top + side, left : left + side],
        "top_left": pixels[:hh, :hw],
        "top_right": pixels[:hh, hw:],
        "bottom_left": pixels[hh:, :hw],
        "bottom_right": pixels[hh:, hw:],
    }


def _image_set(group: str, items: list[tuple[str, np.ndarray, bool]], pre: Preprocess) -> InputSet:
    if not items:  # a package that ships the files is not installed here
        return InputSet(group, (), torch.empty(0), ())
    tensors = [preprocess_image(np.ascontiguousarray(px), pre)[0] for _, px, _ in items]
    return InputSet(group, tuple(n for n, _, _ in items), torch.cat(tensors), tuple(a for _, _, a in items))


def image_file_set(group: str, files: list[SourceFile], pre: Preprocess, crops: bool) -> InputSet:
    """Each file decoded by the app's ``load_image``; with ``crops``, also its five crops."""
    items: list[tuple[str, np.ndarray, bool]] = []
    for f in files:
        pixels = load_image(f.path)
        views = photo_views(pixels) if crops else {"app": pixels}
        items += [(f.name if view == "app" else f"{f.name}#{view}", px, view == "app") for view, px in views.items()]
    return _image_set(group, items, pre)


def synthetic_images(pre: Preprocess, seed: int) -> InputSet:
    """Inputs that are obviously not photographs: flat greys, black, white, pixel noise, smooth noise."""
    rng = np.random.default_rng(seed)
    s = pre.input_size
    items = [(f"flat_{v}", np.full((s, s, 3), v, np.uint8), True) for v in (0, 64, 128, 192, 255)]
    items += [(f"uniform_noise_{i}", rng.integers(0, 256, (s, s, 3), dtype=np.uint8), True) for i in range(3)]
    items += [
        (f"gaussian_noise_{i}", np.clip(rng.normal(128, 40, (s, s, 3)), 0, 255).astype(np.uint8), True)
        for i in range(3)
    ]
    items += [(f"texture_only_{i}", to_uint8(background(rng, s, s, clutter=1.0)), True) for i in range(5)]
    return _image_set("synthetic", items, pre)


def shifted_shapes(pre: Preprocess, seed: int, per_kind: int = 40) -> list[InputSet]:
    """Generated shapes off the training distribution: less clutter, a 2x larger or a 2x smaller object."""
    s = pre.input_size
    sets = []
    for clutter in (0.0, 0.5):
        batch = shapes.make_batch(seed, per_kind, size=s, clutter=clutter)
        items = [(f"clutter{clutter}_{i}", img, True) for i, img in enumerate(batch.images)]
        sets.append(_image_set(f"shifted_clutter{clutter}", items, pre))
    big, small = [], []
    for i in range(per_kind):
        sample = shapes.make_sample(shapes.sample_rng(seed + 1, i), 2 * s)
        x0, y0, x1, y1 = sample.box
        cx, cy = min(max((x0 + x1) // 2, s // 2), 3 * s // 2), min(max((y0 + y1) // 2, s // 2), 3 * s // 2)
        big.append((f"larger_{i}", sample.image[cy - s // 2 : cy + s // 2, cx - s // 2 : cx + s // 2], True))
        rng = shapes.sample_rng(seed + 2, i)
        canvas = to_uint8(background(rng, s, s, clutter=1.0))
        shrunk = Image.fromarray(shapes.make_sample(rng, s).image).resize((s // 2, s // 2), Image.Resampling.BILINEAR)
        canvas[s // 4 : s // 4 + s // 2, s // 4 : s // 4 + s // 2] = np.asarray(shrunk)
        small.append((f"smaller_{i}", canvas, True))
    return [*sets, _image_set("shifted_larger", big, pre), _image_set("shifted_smaller", small, pre)]


# --- clips -------------------------------------------------------------------------------------------


def _clip_tensor(frames: np.ndarray, pre: Preprocess) -> torch.Tensor:
    return preprocess_clip(np.ascontiguousarray(frames), pre)[0]


def _clip_set(group: str, items: list[tuple[str, np.ndarray]], pre: Preprocess) -> InputSet:
    if not items:
        return InputSet(group, (), torch.empty(0), ())
    tensors = [_clip_tensor(frames, pre) for _, frames in items]
    return InputSet(group, tuple(n for n, _ in items), torch.cat(tensors), (True,) * len(items))


def clip_file_set(group: str, files: list[SourceFile], pre: Preprocess) -> InputSet:
    """Each file decoded by the app's ``load_clip`` at the model's frame count."""
    frames = pre.frames or motion.DEFAULT_FRAMES
    items = []
    for f in files:
        clip = load_clip(f.path, num_frames=frames)
        decoded = clip.frames
        if len(decoded) < frames:  # as the pipeline pads: repeat the last frame
            decoded = np.concatenate([decoded, np.repeat(decoded[-1:], frames - len(decoded), axis=0)])
        items.append((f.name, decoded))
    return _clip_set(group, items, pre)


def camera_move(pixels: np.ndarray, move: str, frames: int, side: int = CAMERA_SIDE) -> np.ndarray:
    """A still photo filmed by a moving camera: a square window panning across it or zooming, (T, side, side, 3)."""
    h, w = pixels.shape[:2]
    short = min(h, w)
    t = np.linspace(0.0, 1.0, frames)
    image = Image.fromarray(pixels)
    out = np.empty((frames, side, side, 3), np.uint8)
    for i, u in enumerate(t):
        if move.startswith("zoom"):
            z = u if move == "zoom_in" else 1 - u
            size = short * (1.0 - 0.5 * z)
            cx, cy = w / 2, h / 2
        else:
            size = 0.6 * short
            span_x, span_y = w - size, h - size
            pos = {"pan_left": (1 - u, 0.5), "pan_right": (u, 0.5), "pan_up": (0.5, 1 - u), "pan_down": (0.5, u)}[move]
            cx, cy = size / 2 + pos[0] * span_x, size / 2 + pos[1] * span_y
        box = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
        out[i] = np.asarray(image.resize((side, side), Image.Resampling.BILINEAR, box=box))
    return out


def camera_move_set(files: list[SourceFile], pre: Preprocess) -> InputSet:
    """Six camera moves over each photo (``CAMERA_MOVES``)."""
    frames = pre.frames or motion.DEFAULT_FRAMES
    items = []
    for f in files:
        pixels = load_image(f.path)
        items += [(f"{f.name}#{move}", camera_move(pixels, move, frames)) for move in CAMERA_MOVES]
    return _clip_set("camera_moves", items, pre)


def synthetic_clips(pre: Preprocess, seed: int, photos: list[SourceFile]) -> InputSet:
    """Clips that are obviously outside: flat grey, black, pixel noise, a still photo, textures with no object."""
    rng = np.random.default_rng(seed)
    t, s = pre.frames or motion.DEFAULT_FRAMES, pre.input_size
    items = [(f"flat_{v}", np.full((t, s, s, 3), v, np.uint8)) for v in (0, 128, 255)]
    items += [(f"uniform_noise_{i}", rng.integers(0, 256, (t, s, s, 3), dtype=np.uint8)) for i in range(3)]
    items += [(f"texture_only_{i}", np.repeat(to_uint8(background(rng, s, s))[None], t, 0)) for i in range(3)]
    for f in photos[:4]:
        still = np.asarray(Image.fromarray(load_image(f.path)).resize((CAMERA_SIDE, CAMERA_SIDE)))
        items.append((f"still_{f.name}", np.repeat(still[None], t, axis=0)))
    return _clip_set("synthetic", items, pre)


def shifted_motion(pre: Preprocess, seed: int, per_kind: int = 40) -> list[InputSet]:
    """Generated clips with less clutter than the task (0 and 0.5)."""
    sets = []
    for clutter in (0.0, 0.5):
        batch = motion.make_batch(seed, per_kind, frames=pre.frames or motion.DEFAULT_FRAMES, clutter=clutter)
        items = [(f"clutter{clutter}_{i}", clip) for i, clip in enumerate(batch.clips)]
        sets.append(_clip_set(f"shifted_clutter{clutter}", items, pre))
    return sets


def batched(x: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    """``x`` in slices of ``size`` along the first axis."""
    for start in range(0, x.shape[0], size):
        yield x[start : start + size]


# --- the measurement's sets, per task ---------------------------------------------------------------------

# Groups of real inputs (the ones the score should call outside), and among them the ones the project ships.
REAL_GROUPS = {"image": ("photos_shipped", "photos_other"), "clip": ("clips_shipped", "clips_other", "camera_moves")}
SHIPPED_REAL_GROUP = {"image": "photos_shipped", "clip": "clips_shipped"}
EXAMPLES_GROUP = "examples"


def measurement_sets(task: str, pre: Preprocess, seed: int) -> tuple[list[InputSet], list[SourceFile]]:
    """Every set the separation is measured on for a model of ``task``, and the files they came from.

    ``seed`` drives the shifted and synthetic inputs (generated streams get their own seeds).
    """
    photos = shipped_files("photos", ".jpg", "photos_shipped")
    bundled = bundled_files(BUNDLED_IMAGES, DOC_PHOTO_GLOBS)
    other = [f for f in bundled if f.group == "photo"]
    graphics = [f for f in bundled if f.group == "graphic"]
    if task == "image":
        examples = shipped_files("shapes", ".png", EXAMPLES_GROUP)
        sets = [
            image_file_set(EXAMPLES_GROUP, examples, pre, crops=False),
            image_file_set("photos_shipped", photos, pre, crops=True),
            image_file_set("photos_other", other, pre, crops=True),
            image_file_set("graphics", graphics, pre, crops=False),
            synthetic_images(pre, seed),
            *shifted_shapes(pre, seed),
        ]
        return sets, examples + photos + other + graphics
    examples = shipped_files("motion", ".mp4", EXAMPLES_GROUP)
    clips = shipped_files("clips", ".mp4", "clips_shipped")
    bundled_clips = bundled_files(BUNDLED_CLIPS)
    real_clips = [f for f in bundled_clips if f.group == "clip"]
    graphic_clips = [f for f in bundled_clips if f.group == "graphic"]
    sets = [
        clip_file_set(EXAMPLES_GROUP, examples, pre),
        clip_file_set("clips_shipped", clips, pre),
        clip_file_set("clips_other", real_clips, pre),
        clip_file_set("graphics", graphic_clips, pre),
        camera_move_set(photos + other, pre),
        synthetic_clips(pre, seed, photos),
        *shifted_motion(pre, seed),
    ]
    return sets, examples + clips + real_clips + graphic_clips + photos + other
