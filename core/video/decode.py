"""Video decoding as a stream of frames: probing, fps resampling, resize and centre crop.

Frames are decoded one at a time with OpenCV's FFmpeg backend, so a long video never sits in memory.
Frames are `[H, W, 3] uint8` BGR (OpenCV's order) or `[H, W] uint8` when converted to grey.
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import cv2
import imageio_ffmpeg
import numpy as np

from core.errors import (
    CorruptVideoError,
    EmptyVideoError,
    FrameError,
    NotAVideoError,
    TooFewFramesError,
    VideoNotFoundError,
)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")

# Leading bytes of the containers we accept: a file that starts like one of these but does not
# decode is reported as corrupt, anything else as "not a video".
_CONTAINER_SIGNATURES = (
    (4, b"ftyp"),  # MP4 / MOV / M4V (ISO base media)
    (0, b"RIFF"),  # AVI
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (EBML)
    (0, b"\x00\x00\x01\xba"),  # MPEG program stream
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
)

_IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read from its container (frame count checked by decoding)."""

    path: str
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str

    @property
    def duration_s(self) -> float:
        """Duration in seconds: frame_count / fps."""
        return self.frame_count / self.fps

    def to_dict(self) -> dict:
        """A JSON-ready dict, with the duration."""
        return {**asdict(self), "duration_s": self.duration_s}


@dataclass(frozen=True)
class FrameTransform:
    """Per-frame preparation: optional grey conversion, resize of the short side, centre crop.

    `short_side` keeps the aspect ratio (area interpolation when shrinking, linear when enlarging);
    `crop` takes the central `crop x crop` square and needs both sides >= crop after resizing.
    """

    gray: bool = False
    short_side: int | None = None
    crop: int | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """`[H, W, 3] uint8` BGR -> `[h, w]` or `[h, w, 3] uint8`."""
        if self.gray and frame.ndim == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if self.short_side is not None:
            frame = resize_short_side(frame, self.short_side)
        if self.crop is not None:
            frame = center_crop(frame, self.crop)
        return frame

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of a transformed frame from a `width x height` source."""
        if self.short_side is not None:
            width, height = _short_side_size(width, height, self.short_side)
        if self.crop is not None:
            width, height = self.crop, self.crop
        return width, height


# I3D's flow convention (DeepMind kinetics-i3d README): grey frames, short side 256, centre crop 224.
I3D_FLOW_TRANSFORM = FrameTransform(gray=True, short_side=256, crop=224)


def _short_side_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    scale = short_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    """Resize `[H, W, ...]` so that min(H, W) == short_side, keeping the aspect ratio."""
    height, width = frame.shape[:2]
    new_w, new_h = _short_side_size(width, height, short_side)
    if (new_w, new_h) == (width, height):
        return frame
    shrinking = new_w < width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(frame, (new_w, new_h), interpolation=interpolation)


def center_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """The central `[size, size, ...]` region of `[H, W, ...]`; both sides must be >= size."""
    height, width = frame.shape[:2]
    if height < size or width < size:
        raise FrameError(f"cannot centre-crop {size}x{size} from a {width}x{height} frame; "
                         "resize the short side to at least the crop size first")
    top, left = (height - size) // 2, (width - size) // 2
    return frame[top:top + size, left:left + size]


def _file_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


def _looks_like_container(head: bytes) -> bool:
    return any(head[offset:offset + len(sig)] == sig for offset, sig in _CONTAINER_SIGNATURES)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise VideoNotFoundError(f"video not found: {path}")
    if not path.is_file():
        raise VideoNotFoundError(f"not a file: {path}")
    if not os.access(path, os.R_OK):
        raise VideoNotFoundError(f"cannot read {path}: permission denied")
    if path.stat().st_size == 0:
        raise NotAVideoError(f"{path.name} is an empty file (0 bytes), not a video")
    if _file_head(path).startswith(_IMAGE_SIGNATURES):
        raise NotAVideoError(f"{path.name} is a still image, not a video")


def _ffmpeg_video_streams(path: Path) -> list[str] | None:
    """The video-stream lines FFmpeg reports for `path`, or None if FFmpeg cannot open it at all."""
    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True, errors="replace", check=False)
    if "Error opening input" in result.stderr or "Invalid data found" in result.stderr:
        return None
    return [line for line in result.stderr.splitlines() if "Stream #" in line and "Video:" in line]


def _open_capture(path: Path) -> cv2.VideoCapture:
    """An opened capture for `path`; on failure, FFmpeg's own probe decides which error to raise."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if capture.isOpened():
        return capture
    capture.release()
    streams = _ffmpeg_video_streams(path)
    if streams is None and not _looks_like_container(_file_head(path)):
        raise NotAVideoError(f"{path.name} is not a video OpenCV/FFmpeg can read "
                             f"(supported: {', '.join(VIDEO_EXTENSIONS)})")
    if streams == []:
        raise EmptyVideoError(f"{path.name} contains no video frames (no video stream)")
    raise CorruptVideoError(f"{path.name} looks like a video container but cannot be decoded: "
                            "the file is truncated or damaged; re-export or re-download it")


def _fourcc(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ") or "unknown"


def _count_by_decoding(capture: cv2.VideoCapture) -> int:
    count = 0
    while capture.grab():
        count += 1
    return count


def probe_video(path: str | os.PathLike, min_frames: int = 1) -> VideoInfo:
    """Open `path`, check that it decodes, and return its `VideoInfo`.

    The frame count comes from the container when it declares one; the last declared frame is then
    decoded to prove the file is whole. Containers without a count are counted by decoding.

    Raises:
        VideoNotFoundError: missing or unreadable path.
        NotAVideoError: not a video container.
        CorruptVideoError: a video container whose frames cannot be decoded (truncated/damaged).
        EmptyVideoError: no frames at all.
        TooFewFramesError: fewer than `min_frames` frames.
    """
    path = Path(path)
    _check_readable(path)
    capture = _open_capture(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        codec = _fourcc(capture)
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        first_ok, _ = capture.read()
        if not first_ok:
            if declared > 0:
                raise CorruptVideoError(f"{path.name} declares {declared} frames but none decodes: "
                                        "the file is truncated or damaged")
            raise EmptyVideoError(f"{path.name} contains no video frames")
        frame_count = _verified_frame_count(capture, declared, path)
    finally:
        capture.release()
    if not (fps and math.isfinite(fps) and fps > 0):
        raise CorruptVideoError(f"{path.name} has no valid frame rate (read {fps!r})")
    if frame_count < min_frames:
        raise TooFewFramesError(f"{path.name} has {frame_count} frame(s); at least {min_frames} "
                                "are needed (optical flow needs two frames)")
    return VideoInfo(str(path), float(fps), frame_count, width, height, codec)


def _verified_frame_count(capture: cv2.VideoCapture, declared: int, path: Path) -> int:
    """Frame count after decoding the first frame: the declared count if its last frame decodes."""
    if declared <= 1:
        return 1 + _count_by_decoding(capture) if declared <= 0 else 1 + int(capture.grab())
    capture.set(cv2.CAP_PROP_POS_FRAMES, declared - 1)
    # A truncated file still "grabs" after the seek, but lands on an earlier frame.
    if capture.grab() and capture.get(cv2.CAP_PROP_POS_FRAMES) >= declared:
        return declared
    capture.set(cv2.CAP_PROP_POS_FRAMES, 1)
    decoded = 1 + _count_by_decoding(capture)
    if decoded < declared * 0.9:
        raise CorruptVideoError(f"{path.name} declares {declared} frames but only {decoded} decode: "
                                "the file is truncated or damaged")
    return decoded


def resampled_frame_count(frame_count: int, source_fps: float, target_fps: float | None) -> int:
    """Number of frames `iter_frames` yields for `target_fps` (nearest-frame resampling)."""
    if target_fps is None or math.isclose(target_fps, source_fps):
        return frame_count
    return max(1, math.ceil((frame_count - 0.5) * target_fps / source_fps))


def _source_index(k: int, source_fps: float, target_fps: float) -> int:
    """Source frame nearest to output frame k's time k / target_fps."""
    return math.floor(k * source_fps / target_fps + 0.5)


def iter_frames(path: str | os.PathLike, target_fps: float | None = None,
                transform: FrameTransform | None = None, info: VideoInfo | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of a video one at a time, optionally resampled and transformed.

    Args:
        path: a video file.
        target_fps: resample to this rate by taking, for each output time k / target_fps, the
            nearest source frame (frames repeat when upsampling, drop when downsampling); None keeps
            the source rate.
        transform: per-frame preparation (grey, resize, crop); None yields `[H, W, 3] uint8` BGR.
        info: the video's `probe_video` result if the caller has it (saves a second probe).

    Raises the `probe_video` errors on open, and `CorruptVideoError` if decoding stops early.
    """
    info = info or probe_video(path)
    capture = _open_capture(Path(path))
    resample = target_fps is not None and not math.isclose(target_fps, info.fps)
    decoded = 0
    next_output = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if transform is not None:
                frame = transform(frame)
            if not resample:
                yield frame
            else:
                while _source_index(next_output, info.fps, target_fps) == decoded:
                    yield frame
                    next_output += 1
            decoded += 1
    finally:
        capture.release()
    if decoded < info.frame_count:
        raise CorruptVideoError(f"{Path(path).name}: decoding stopped after {decoded} of "
                                f"{info.frame_count} frames; the file is truncated or damaged")


def read_frame(path: str | os.PathLike, index: int, transform: FrameTransform | None = None) -> np.ndarray:
    """Frame `index` (0-based) of a video, optionally transformed; seeks instead of decoding all."""
    info = probe_video(path)
    if not 0 <= index < info.frame_count:
        raise FrameError(f"frame {index} is outside 0..{info.frame_count - 1} of {Path(path).name}")
    capture = _open_capture(Path(path))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok:
        raise CorruptVideoError(f"{Path(path).name}: frame {index} cannot be decoded")
    return transform(frame) if transform is not None else frame
