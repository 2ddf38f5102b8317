"""Video decoding: probing, streaming, resampling, resize/crop, and every kind of bad input."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from core.errors import (CorruptVideoError, EmptyVideoError, NotAVideoError, TooFewFramesError,
                         VideoNotFoundError)
from core.video.synthetic import demo_frames
from core.video.decode import (FrameTransform, I3D_FLOW_TRANSFORM, center_crop, iter_frames, probe_video,
                        resampled_frame_count, resize_short_side)
from core.video.writer import write_video


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mov", ".mkv", ".webm"])
def test_every_container_probes_and_streams(tmp_path, suffix):
    path = write_video(tmp_path / f"clip{suffix}", demo_frames(10, (96, 64)), fps=20.0)
    info = probe_video(path)
    assert (info.width, info.height, info.frame_count) == (96, 64, 10)
    assert info.fps == pytest.approx(20.0)
    assert info.duration_s == pytest.approx(0.5)
    frames = list(iter_frames(path))
    assert len(frames) == 10
    assert frames[0].shape == (64, 96, 3) and frames[0].dtype == np.uint8


def test_mp4_is_browser_playable_h264(demo_video):
    assert probe_video(demo_video).codec == "h264"
    with open(demo_video, "rb") as handle:  # faststart: the index (moov) precedes the data (mdat)
        head = handle.read(4096)
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)


def test_frames_are_streamed_lazily(demo_video):
    frames = iter_frames(demo_video)
    first = next(frames)
    frames.close()
    assert first.shape == (120, 160, 3)


@pytest.mark.parametrize("target_fps", [10.0, 12.5, 25.0, 50.0])
def test_resampling_matches_predicted_count(demo_video, target_fps):
    info = probe_video(demo_video)
    count = sum(1 for _ in iter_frames(demo_video, target_fps=target_fps))
    assert count == resampled_frame_count(info.frame_count, info.fps, target_fps)
    assert count == pytest.approx(info.duration_s * target_fps, abs=1)


def test_resampling_picks_nearest_frames(demo_video):
    source = list(iter_frames(demo_video))
    halved = list(iter_frames(demo_video, target_fps=12.5))
    assert all(np.array_equal(a, b) for a, b in zip(halved, source[::2]))


def test_i3d_transform_gives_grey_224_square(demo_video):
    frame = next(iter_frames(demo_video, transform=I3D_FLOW_TRANSFORM))
    assert frame.shape == (224, 224) and frame.dtype == np.uint8
    assert I3D_FLOW_TRANSFORM.output_size(320, 240) == (224, 224)


def test_resize_short_side_and_crop_keep_aspect_and_centre():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, 95:105] = 255
    resized = resize_short_side(frame, 50)
    assert resized.shape == (50, 100, 3)
    cropped = center_crop(resized, 50)
    assert cropped.shape == (50, 50, 3)
    assert cropped[:, 25].mean() > 200  # the centre stripe stays in the centre
    with pytest.raises(ValueError, match="centre-crop"):
        center_crop(frame, 150)
    assert FrameTransform(short_side=50, crop=40).output_size(200, 100) == (40, 40)


# ---- bad input ----------------------------------------------------------------------------------

def test_missing_path_and_folder_raise_not_found(tmp_path):
    with pytest.raises(VideoNotFoundError, match="not found"):
        probe_video(tmp_path / "missing.mp4")
    with pytest.raises(VideoNotFoundError, match="not a file"):
        probe_video(tmp_path)


def test_text_file_and_image_are_not_videos(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("definitely not a video " * 50)
    with pytest.raises(NotAVideoError, match="not a video"):
        probe_video(text)
    image = tmp_path / "still.png"
    import cv2
    cv2.imwrite(str(image), np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(NotAVideoError, match="still image"):
        probe_video(image)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(NotAVideoError, match="empty file"):
        probe_video(empty)


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.9])
def test_truncated_video_is_reported_as_corrupt(demo_video, tmp_path, keep):
    data = demo_video.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CorruptVideoError, match="truncated or damaged"):
        probe_video(truncated)
    with pytest.raises(CorruptVideoError, match="truncated or damaged"):
        list(iter_frames(truncated))


def test_video_without_frames_is_empty(tmp_path):
    path = tmp_path / "silence.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "anullsrc=r=8000:cl=mono", "-t", "0.2", str(path)], check=True)
    with pytest.raises(EmptyVideoError, match="no video"):
        probe_video(path)


def test_one_frame_video_is_too_short_for_flow(one_frame_video):
    assert probe_video(one_frame_video).frame_count == 1
    with pytest.raises(TooFewFramesError, match="1 frame"):
        probe_video(one_frame_video, min_frames=2)


def test_all_video_errors_share_one_base_class():
    from core.errors import DFEError, VideoError
    for error in (CorruptVideoError, EmptyVideoError, NotAVideoError, TooFewFramesError,
                  VideoNotFoundError):
        assert issubclass(error, VideoError) and issubclass(error, DFEError)
