"""What the Library page shows of a video: its container facts and a thumbnail of its first frame."""

from __future__ import annotations

import os

import numpy as np

from core.video.decode import FrameTransform, VideoInfo, probe_video, read_frame

THUMBNAIL_SHORT_SIDE = 120  # pixels


def video_card(path: str | os.PathLike) -> tuple[VideoInfo, np.ndarray]:
    """(what the video holds, its first frame as a thumbnail `[h, w, 3] uint8` RGB with the short
    side THUMBNAIL_SHORT_SIDE pixels). Raises a `DFEError` for a file that does not decode."""
    info = probe_video(path)
    frame = read_frame(path, 0, FrameTransform(short_side=THUMBNAIL_SHORT_SIDE))
    return info, np.ascontiguousarray(frame[..., ::-1])
