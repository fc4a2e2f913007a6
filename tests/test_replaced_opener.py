"""Decoding survives another library replacing ``PIL.Image.open`` process-wide (ultralytics does, on import).

Its replacement, on any file Pillow cannot identify, installs and imports a HEIF plugin; offline that ends in a
``ModuleNotFoundError``. Video containers therefore go to PyAV by their first bytes, without Pillow, and an
import error from the opener becomes a sentence naming the file and the replaced opener.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.support.clips import write_test_clip
from visualiser import pipeline
from visualiser.errors import InputError
from visualiser.media import load_clip, load_image
from visualiser.media.clip.video import is_video_container


@pytest.fixture()
def replaced_opener(monkeypatch):
    """``PIL.Image.open`` as ultralytics leaves it, with its plugin missing (no network to install it)."""
    original = Image.open
    calls: list[str] = []

    def image_open(filename, *args, **kwargs):
        calls.append(str(filename))
        try:
            return original(filename, *args, **kwargs)
        except Exception:  # noqa: BLE001 -- as ultralytics' replacement does
            import pi_heif_missing_plugin  # noqa: F401 -- ultralytics: check_requirements("pi-heif"), then import

    image_open.__module__, image_open.__qualname__ = "ultralytics.utils.patches", "image_open"
    monkeypatch.setattr(Image, "open", image_open)
    return calls


@pytest.fixture()
def clip_file(tmp_path):
    frames = np.zeros((6, 48, 64, 3), np.uint8)
    for t in range(6):
        frames[t, 10:30, 5 + 6 * t : 25 + 6 * t] = (220, 80, 40)
    path = tmp_path / "moving.mp4"
    write_test_clip(path, frames, fps=6.0)
    return path


def test_a_video_never_reaches_the_replaced_opener(replaced_opener, clip_file, fake_models):
    clip = load_clip(clip_file, num_frames=4)
    assert clip.frames.shape == (4, 48, 64, 3)
    result = pipeline.analyse_clip(clip_file, model="fake_motion3d")
    assert result.blocks and replaced_opener == []  # Pillow was never asked


def test_a_file_that_is_neither_gets_a_sentence_not_an_import_error(replaced_opener, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are notes, not a picture or a video\n" * 4)
    with pytest.raises(
        InputError,
        match=r"notes.txt is not an image Pillow can read \(it is a text file.*"
        r"replaced in this process by ultralytics.utils.patches.image_open.*pi_heif_missing_plugin",
    ):
        load_image(text)
    with pytest.raises(InputError, match=r"notes.txt is not a video or image this app can read"):
        load_clip(text)
    picture = tmp_path / "fine.png"
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(picture)
    assert load_image(picture).shape == (8, 8, 3)  # pictures still go through it, and it works for them
    assert load_clip(picture).frames.shape == (1, 8, 8, 3)


@pytest.mark.parametrize(
    ("prefix", "video"),
    [
        (b"\x00\x00\x00\x18ftypisom", True),  # MP4
        (b"\x00\x00\x00\x14ftypqt  ", True),  # QuickTime
        (b"\x00\x00\x00\x18ftypheic", False),  # HEIC: a picture
        (b"\x00\x00\x00\x1cftypavif", False),  # AVIF: a picture
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", True),  # Matroska / WebM
        (b"RIFF\x00\x00\x00\x00AVI LIST", True),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", False),
        (b"\x00\x00\x01\xba\x44\x00", True),  # MPEG program stream
        (b"\x47" + bytes(187) + b"\x47", True),  # MPEG transport stream
        (b"\x89PNG\r\n\x1a\n", False),
        (b"GIF89a", False),
    ],
)
def test_video_containers_are_told_by_their_first_bytes(prefix, video):
    assert is_video_container(prefix) is video
