"""load_clip on the hostile corpus: each sampled frame is the source frame its timestamp names.

Clip frames carry their frame number as a black/white bit grid (``hostile.index_pattern``), so the checks compare
what was decoded with what was drawn at that time, not with an earlier run of the decoder.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import hostile
from tests.support.clips import write_test_clip
from visualiser.errors import InputError
from visualiser.media import Clip, MediaLimits, load_clip, load_image, select_evenly
from visualiser.media.clip.video import read_video


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    missing = {"libx264", "libvpx-vp9", "mjpeg", "aac"} - hostile.available_encoders()
    if missing:
        pytest.skip(f"this PyAV build cannot encode {sorted(missing)}")
    directory = tmp_path_factory.mktemp("clips")
    return {name: build(directory) for name, build in hostile.CLIP_BUILDERS.items()}


def assert_frames_match_timestamps(clip: Clip, seconds_per_frame: float) -> list[int]:
    """Every frame is the source frame drawn at its timestamp; returns the frame numbers."""
    numbers = [hostile.read_index(frame) for frame in clip.frames]
    np.testing.assert_allclose(clip.timestamps, np.array(numbers) * seconds_per_frame, atol=1e-3)
    assert (np.diff(clip.timestamps) > 0).all(), "strictly increasing, no duplicates"
    return numbers


def assert_evenly_spread(timestamps: np.ndarray, duration: float, tolerance: float) -> None:
    count = len(timestamps)
    centres = (np.arange(count) + 0.5) * duration / count
    np.testing.assert_allclose(timestamps, centres, atol=tolerance)


def test_h264_samples_are_the_frames_at_their_timestamps(corpus):
    clip = load_clip(corpus["pattern_mp4"], num_frames=8)
    assert clip.frames.shape == (8, 64, 64, 3)
    assert clip.frames.dtype == np.uint8
    assert (clip.fps, clip.duration, clip.source_size) == (hostile.CLIP_FPS, 5.0, (64, 64))
    assert_frames_match_timestamps(clip, 1 / hostile.CLIP_FPS)
    assert_evenly_spread(clip.timestamps, 5.0, tolerance=0.5 / hostile.CLIP_FPS + 1e-6)


def test_asking_for_more_frames_than_exist_returns_each_once(corpus):
    clip = load_clip(corpus["pattern_mp4"], num_frames=64)
    assert assert_frames_match_timestamps(clip, 1 / hostile.CLIP_FPS) == list(range(40))
    one = load_clip(corpus["one_frame"], num_frames=16)
    assert one.frames.shape == (1, 64, 64, 3)
    assert hostile.read_index(one.frames[0]) == 0


def test_downscale_keeps_aspect_and_content(corpus):
    clip = load_clip(corpus["pattern_mp4"], num_frames=4, max_side=32)
    assert clip.frames.shape == (4, 32, 32, 3)
    assert clip.source_size == (64, 64)
    assert_frames_match_timestamps(clip, 1 / hostile.CLIP_FPS)


def test_long_clip_is_sampled_by_seeking(corpus):
    path = corpus["long"]
    started = time.perf_counter()
    clip = load_clip(path, num_frames=16)
    elapsed = time.perf_counter() - started
    assert clip.duration == pytest.approx(hostile.LONG_CLIP_SECONDS)
    numbers = assert_frames_match_timestamps(clip, 1.0)
    assert len(numbers) == 16
    assert_evenly_spread(clip.timestamps, hostile.LONG_CLIP_SECONDS, tolerance=0.5 + 1e-6)
    sampled, *_ = read_video(path, 16, 512, MediaLimits())
    assert sampled.mode == "seek"
    assert sampled.decoded < hostile.LONG_CLIP_SECONDS / 3, f"decoded {sampled.decoded} of 600 frames"
    assert elapsed < 5.0  # about 0.01 s here; a generous bound for a loaded CI machine


def test_unknown_length_stream_is_read_once_with_bounded_memory(tmp_path):
    # A raw H.264 stream has no container index or duration: the sequential reader must thin as it goes.
    path = tmp_path / "raw.h264"
    write_test_clip(path, hostile.pattern_frames(300, 32), fps=25.0)
    sampled, _, duration, _ = read_video(path, 8, 512, MediaLimits())
    assert (sampled.mode, sampled.decoded, duration) == ("sequential", 300, 0.0)
    clip = load_clip(path, num_frames=8)
    numbers = assert_frames_match_timestamps(clip, 1 / 25)
    ideal = (np.arange(8) + 0.5) * 300 / 8
    assert np.abs(np.array(numbers) - ideal).max() <= 300 / 16, "within a quarter of the spacing of the ideal"
    with pytest.raises(InputError, match="runs past 5 s"):
        load_clip(path, limits=MediaLimits(max_clip_seconds=5))


def test_variable_frame_rate_keeps_real_timestamps(corpus):
    clip = load_clip(corpus["vfr"], num_frames=16)
    numbers = [hostile.read_index(frame) for frame in clip.frames]
    assert numbers == list(range(len(hostile.VFR_TIMES)))
    np.testing.assert_allclose(clip.timestamps, hostile.VFR_TIMES, atol=1e-3)
    few = load_clip(corpus["vfr"], num_frames=3)
    picked = [hostile.read_index(frame) for frame in few.frames]
    np.testing.assert_allclose(few.timestamps, [hostile.VFR_TIMES[i] for i in picked], atol=1e-3)
    assert picked == sorted(set(picked))


@pytest.mark.parametrize(("name", "seconds_per_frame"), [("vp9_webm", 0.125), ("mjpeg_avi", 0.125), ("gif", 0.12)])
def test_other_containers(corpus, name, seconds_per_frame):
    # GIF delays are whole centiseconds, so 125 ms frames are stored as 120 ms.
    clip = load_clip(corpus[name], num_frames=6)
    assert clip.frames.shape == (6, 64, 64, 3)
    numbers = assert_frames_match_timestamps(clip, seconds_per_frame)
    assert numbers == sorted(set(numbers))
    assert_evenly_spread(clip.timestamps, 24 * seconds_per_frame, tolerance=seconds_per_frame / 2 + 1e-6)


def test_animated_gif_frames_keep_their_colours(tmp_path):
    clip = load_clip(hostile.animated_gif(tmp_path), num_frames=8)
    assert clip.frames.shape == (3, 12, 16, 3)
    for frame, colour in zip(clip.frames, hostile.ANIMATION_COLOURS, strict=True):
        assert (frame == colour).all()
    np.testing.assert_allclose(clip.timestamps, [0.0, 0.1, 0.2])


def test_rotation_metadata_is_applied(corpus):
    clip = load_clip(corpus["rotated"], num_frames=4)
    assert clip.frames.shape == (4, 64, 32, 3), "stored 64×32 landscape, displayed 32×64 portrait"
    assert clip.source_size == (32, 64)
    for frame in clip.frames:  # rotated 90° clockwise: the stored left half is now on top
        np.testing.assert_allclose(frame[8:24, 8:24].reshape(-1, 3).mean(axis=0), hostile.EXIF_LEFT, atol=10)
        np.testing.assert_allclose(frame[40:56, 8:24].reshape(-1, 3).mean(axis=0), hostile.EXIF_RIGHT, atol=10)


def test_4k_clip_is_downscaled_while_decoding(corpus):
    clip = load_clip(corpus["uhd_4k"], num_frames=16)
    assert clip.frames.shape == (3, 288, 512, 3)
    assert clip.source_size == (3840, 2160)
    assert [hostile.read_index(frame) for frame in clip.frames] == [1, 2, 3]
    with pytest.raises(InputError, match=r"3840×2160 = 8\.29 MP; the limit is 2\.07 MP"):
        load_clip(corpus["uhd_4k"], limits=MediaLimits(max_clip_pixels_per_frame=1920 * 1080))


def test_still_image_is_a_one_frame_clip(corpus):
    clip = load_clip(corpus["still"], num_frames=16)
    assert clip.frames.shape == (1, 64, 64, 3)
    np.testing.assert_array_equal(clip.frames[0], load_image(corpus["still"]))
    assert hostile.read_index(clip.frames[0]) == 5
    assert (clip.fps, clip.duration, clip.timestamps.tolist()) == (0.0, 0.0, [0.0])


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("truncated_mp4", "truncated or corrupt"),
        ("garbage_mp4", "truncated or corrupt"),
        ("audio_only", "no video stream (it contains only audio)"),
        ("zero_frames", "no decodable video frames"),
    ],
)
def test_hostile_clip_is_refused_with_its_reason(corpus, name, fragment):
    with pytest.raises(InputError) as caught:
        load_clip(corpus[name])
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("builder", "fragment"),
    [
        (hostile.text_as_jpeg, "text file"),
        (hostile.svg_image, "SVG is not supported"),
        (hostile.html_page, "HTML page"),
        (hostile.truncated_png, "truncated"),
        (hostile.png_bomb, "decompression bomb"),
        (hostile.zero_byte, "empty"),
    ],
)
def test_hostile_images_given_as_clips(tmp_path, builder, fragment):
    with pytest.raises(InputError) as caught:
        load_clip(builder(tmp_path))
    assert fragment in str(caught.value)


def test_limits_on_length_and_time(corpus):
    with pytest.raises(InputError, match=r"is 10\.0 min long; the limit is 60 s"):
        load_clip(corpus["long"], limits=MediaLimits(max_clip_seconds=60))
    with pytest.raises(InputError, match="took longer than"):
        load_clip(corpus["pattern_mp4"], limits=MediaLimits(decode_timeout_s=1e-9))
    with pytest.raises(InputError, match="num_frames must be between 1 and 64"):
        load_clip(corpus["pattern_mp4"], num_frames=65)


def test_playlist_cannot_make_ffmpeg_open_other_files(tmp_path, corpus):
    # An HLS playlist pointing at a real local video: FFmpeg's HLS demuxer is not on the allow-list.
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:5\n#EXTINF:5,\n{corpus['pattern_mp4']}\n#EXT-X-ENDLIST\n")
    with pytest.raises(InputError, match="not a video or image"):
        load_clip(playlist)


def test_array_clips():
    frames = hostile.pattern_frames(10, 32)
    clip = load_clip(frames, num_frames=4)
    assert clip.timestamps.tolist() == [1.0, 4.0, 6.0, 9.0]
    np.testing.assert_array_equal(clip.frames, frames[[1, 4, 6, 9]])
    assert (clip.fps, clip.source_size) == (0.0, (32, 32))
    small = load_clip(frames, num_frames=2, max_side=16)
    assert small.frames.shape == (2, 16, 16, 3)
    for bad in (frames[0], frames.astype(np.float32), frames[:0]):
        with pytest.raises(InputError):
            load_clip(bad)


def test_a_clip_records_what_its_headers_say(corpus):
    clip = load_clip(corpus["pattern_mp4"], num_frames=64)
    assert len(clip.frames) == 40  # fewer frames than asked for: every one, once
    assert clip.source_size == (64, 64)
    assert clip.fps == hostile.CLIP_FPS
    assert clip.duration == pytest.approx(5.0)
    with pytest.raises(InputError, match="only audio"):
        load_clip(corpus["audio_only"])


@pytest.mark.parametrize(
    ("times", "count", "expected"),
    [
        ([0, 1, 2, 3, 4, 5, 6, 7], 4, [1, 3, 5, 7]),  # centres 1, 3, 5, 7 of a span [0, 8)
        ([0, 1, 2], 5, [0, 1, 2]),
        ([0, 0.1, 0.2, 5.0, 5.1], 2, [2, 3]),  # targets 1.6 and 4.8 of a span [0, 6.4)
        ([0.0, 0.0, 0.0, 0.0], 2, [1, 3]),  # no usable times: positions instead
        ([0.0, 0.01, 0.02, 10.0], 3, [1, 2, 3]),  # nearest would be [2, 3, 3]: picks stay distinct and in order
    ],
)
def test_select_evenly(times, count, expected):
    assert select_evenly(times, count) == expected


def test_write_test_clip_refuses_odd_sizes(tmp_path):
    with pytest.raises(ValueError, match="even width and height"):
        write_test_clip(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), dtype=np.uint8))


def test_images_as_clips_record_their_size_rate_and_length(tmp_path):
    still = load_clip(hostile.still_as_clip(tmp_path))
    assert (still.source_size, len(still.frames), still.fps, still.duration) == ((64, 64), 1, 0.0, 0.0)
    animation = load_clip(hostile.animated_gif(tmp_path))
    assert (len(animation.frames), animation.fps) == (3, pytest.approx(10.0))
    assert animation.duration == pytest.approx(0.3)


def test_zero_delay_animation_is_timed_like_a_browser(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in hostile.ANIMATION_COLOURS]
    path = tmp_path / "fast.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=0, loop=0)
    clip = load_clip(path, num_frames=8)
    np.testing.assert_allclose(clip.timestamps, [0.0, 0.1, 0.2])
    assert [tuple(frame[0, 0]) for frame in clip.frames] == list(hostile.ANIMATION_COLOURS)


def test_multi_page_tiff_is_a_still(tmp_path):
    pages = [Image.new("RGB", (8, 6), colour) for colour in hostile.ANIMATION_COLOURS]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    clip = load_clip(path)
    assert clip.frames.shape == (1, 6, 8, 3)
    assert (clip.frames[0] == hostile.ANIMATION_COLOURS[0]).all()
