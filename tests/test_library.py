"""What the Library page shows of a video: its facts and a thumbnail, or why it cannot."""

from __future__ import annotations

import numpy as np
import pytest

from core.app.library import video_card
from core.errors import DFEError
from core.video.decode import FrameTransform, read_frame
from core.video.synthetic import make_demo_video


def test_video_card_has_the_facts_and_a_small_rgb_thumbnail_of_the_first_frame(tmp_path):
    video = make_demo_video(tmp_path / "wide.mp4", num_frames=3, size=(320, 240))
    info, thumbnail = video_card(video)
    assert (info.frame_count, info.width, info.height, info.fps) == (3, 320, 240, 25.0)
    assert thumbnail.shape == (120, 160, 3) and thumbnail.dtype == np.uint8 and thumbnail.flags.c_contiguous
    bgr = read_frame(video, 0, FrameTransform(short_side=120))
    assert np.array_equal(thumbnail, bgr[..., ::-1]) and not np.array_equal(thumbnail, bgr)


def test_video_card_of_a_damaged_file_says_why(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    with pytest.raises(DFEError, match="broken.mp4"):
        video_card(broken)
