"""Writing frames to video files with the FFmpeg binary that imageio-ffmpeg ships.

`.mp4`/`.mov`/`.mkv` get H.264 (yuv420p, faststart) so browsers can play them; `.webm` gets VP9 and
`.avi` MPEG-4 Part 2. Files are written to a temporary name and renamed, so a half-written video is
never left under the final name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import imageio_ffmpeg
import numpy as np

from core.common.atomic import atomic_path
from core.errors import VideoWriteError

_CODECS = {
    ".mp4": ("libx264", ["-movflags", "+faststart", "-preset", "veryfast", "-crf", "18"]),
    ".mov": ("libx264", ["-movflags", "+faststart", "-preset", "veryfast", "-crf", "18"]),
    ".mkv": ("libx264", ["-preset", "veryfast", "-crf", "18"]),
    ".webm": ("libvpx-vp9", ["-b:v", "0", "-crf", "30", "-deadline", "realtime"]),
    ".avi": ("mpeg4", ["-q:v", "3"]),
}


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Encode `frames` (`[H, W, 3] uint8` RGB, or `[H, W] uint8` grey; H and W even) to `path`.

    The codec follows the extension (see module docstring). Returns the path. Raises `VideoWriteError` for
    an unsupported extension, odd frame sizes, or no frames.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CODECS:
        raise VideoWriteError(f"cannot write {suffix!r} videos; use one of {', '.join(_CODECS)}")
    codec, output_params = _CODECS[suffix]
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise VideoWriteError("no frames to write")
    height, width = first.shape[:2]
    if height % 2 or width % 2:
        raise VideoWriteError(f"frame size {width}x{height} must be even for yuv420p video")
    pix_fmt_in = "gray" if first.ndim == 2 else "rgb24"
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec=codec, pix_fmt_in=pix_fmt_in,
            pix_fmt_out="yuv420p", macro_block_size=1, output_params=output_params,
            ffmpeg_log_level="error")
        writer.send(None)
        try:
            writer.send(np.ascontiguousarray(first))
            for frame in iterator:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()
    return path
