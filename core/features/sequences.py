"""Model-ready flow sequences: I3D preprocessing and sliding windows with their time base.

I3D preprocessing (DeepMind kinetics-i3d): flow in pixels is resized so the short side is 256
(vectors scaled with the image) and centre-cropped to 224 unless it already is 224x224, truncated to
[-20, 20] pixels and rescaled to [-1, 1].

Windows: a flow sequence of T frames is cut into windows of `sequence_length` frames every `stride`
frames; if the last window does not reach the end, one more window aligned to the end is added, so
every frame is covered. Flow frame t spans video frames t and t + 1, so a window over flow frames
[s, s + L) spans video frames s .. s + L, from s / fps to (s + L) / fps seconds.

Padding rule: a sequence shorter than one window (T < sequence_length) gives a single window padded
by repeating its last flow frame, provided it has at least `MIN_WINDOW` (9) real frames; shorter
sequences raise `SequenceError`, since I3D needs 9 frames.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from core.errors import FlowFileError, SequenceError
from core.flow.formats import check_flow, load_flow_npy, npy_shape
from core.flow.store import FLOW_FORMATS, data_path, load_flow, read_record, record_path

MIN_WINDOW = 9
FLOW_BOUND = 20.0
CROP_SIZE = 224
SHORT_SIDE = 256


def _is_flow_shape(shape: tuple[int, ...] | None) -> bool:
    return shape is not None and len(shape) == 4 and shape[-1] == 2


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize `[T, H, W, 2]` pixel flow to `size` = (w, h), scaling dx by w/W and dy by h/H."""
    frames, height, width = flow.shape[:3]
    scale = np.array([size[0] / width, size[1] / height], np.float32)
    interpolation = cv2.INTER_AREA if size[0] < width else cv2.INTER_LINEAR
    return np.stack([cv2.resize(np.ascontiguousarray(f), size, interpolation=interpolation) * scale
                     for f in flow]).astype(np.float32)


def preprocess_flow(flow: np.ndarray, crop_size: int = CROP_SIZE, short_side: int = SHORT_SIDE,
                    bound: float = FLOW_BOUND) -> np.ndarray:
    """I3D preprocessing of `[T, H, W, 2]` pixel flow -> `[T, crop, crop, 2] float32` in [-1, 1].

    Raises FlowShapeError for another shape, InvalidFlowValuesError for NaN/inf.
    """
    flow = check_flow(flow)
    height, width = flow.shape[1:3]
    if (height, width) != (crop_size, crop_size):
        scale = short_side / min(height, width)
        flow = resize_flow(flow, (round(width * scale), round(height * scale)))
        height, width = flow.shape[1:3]
        top, left = (height - crop_size) // 2, (width - crop_size) // 2
        flow = flow[:, top:top + crop_size, left:left + crop_size]
    return (np.clip(flow, -bound, bound) / bound).astype(np.float32)


@dataclass(frozen=True)
class Window:
    """One window of a flow sequence and where it sits in the video.

    Attributes:
        source: name of the flow sequence (the video's stem).
        index: position of the window in its sequence.
        start, stop: flow frames [start, stop) used (real frames; padding not included).
        first_frame, last_frame: video frames the window spans (start and stop).
        start_ms, end_ms: times of those video frames in milliseconds.
        padded: frames added by the padding rule (0 for a full window).
    """

    source: str
    index: int
    start: int
    stop: int
    first_frame: int
    last_frame: int
    start_ms: float
    end_ms: float
    padded: int = 0

    @property
    def centre_ms(self) -> float:
        """The time the window stands for: the middle of its span, in ms (a feature's time stamp)."""
        return (self.start_ms + self.end_ms) / 2

    def to_dict(self) -> dict:
        return asdict(self)


def window_starts(num_frames: int, sequence_length: int, stride: int) -> list[int]:
    """Start frames of the windows over `num_frames` frames (see module docstring)."""
    if num_frames <= sequence_length:
        return [0]
    starts = list(range(0, num_frames - sequence_length + 1, stride))
    if starts[-1] + sequence_length < num_frames:
        starts.append(num_frames - sequence_length)
    return starts


def make_windows(source: str, num_frames: int, fps: float, sequence_length: int,
                 stride: int) -> list[Window]:
    """The windows over a flow sequence of `num_frames` frames at `fps`."""
    if num_frames < MIN_WINDOW:
        raise SequenceError(f"{source}: {num_frames} flow frames is shorter than I3D's minimum "
                            f"window of {MIN_WINDOW}; use a longer video")
    windows = []
    for index, start in enumerate(window_starts(num_frames, sequence_length, stride)):
        stop = min(start + sequence_length, num_frames)
        windows.append(Window(source, index, start, stop, start, stop, 1000.0 * start / fps,
                              1000.0 * stop / fps, padded=sequence_length - (stop - start)))
    return windows


def pad_window(frames: np.ndarray, window: Window) -> np.ndarray:
    """`[stop - start, ...]` frames of `window` with the padding rule applied: the last frame repeated
    `window.padded` times."""
    if window.padded:
        frames = np.concatenate([frames, np.repeat(frames[-1:], window.padded, axis=0)])
    return frames


def cut_window(flow: np.ndarray, window: Window) -> np.ndarray:
    """The frames of `window` from `[T, ...]` frames or flow held whole, padded (`pad_window`)."""
    return pad_window(np.asarray(flow[window.start:window.stop]), window)


@dataclass
class SequenceBatch:
    """A batch of windows: `flow` is `[B, T, 224, 224, 2] float32` in [-1, 1]."""

    flow: np.ndarray
    windows: list[Window]


class OpticalFlowSequenceLoader:
    """Sliding windows of stored flow, preprocessed for I3D.

    Args:
        flow_dir: folder of stored flow (`core.flow.store` layout; a bare `.npy` without a record
            is read at `default_fps`).
        sequence_length: frames per window (>= 9, I3D's minimum).
        stride: frames between window starts; None means sequence_length // 2 (50% overlap).
        crop_size: spatial size of the model input.
        default_fps: frame rate assumed for `.npy` files that have no record.
    """

    def __init__(self, flow_dir: str | os.PathLike, sequence_length: int = 16, stride: int | None = None,
                 crop_size: int = CROP_SIZE, default_fps: float = 25.0) -> None:
        if sequence_length < MIN_WINDOW:
            raise SequenceError(f"sequence_length {sequence_length} is below I3D's minimum of "
                                f"{MIN_WINDOW} frames")
        stride = stride if stride is not None else max(1, sequence_length // 2)
        if stride < 1:
            raise SequenceError(f"stride must be at least 1, got {stride}")
        self.flow_dir = Path(flow_dir)
        self.sequence_length = sequence_length
        self.stride = stride
        self.crop_size = crop_size
        self.default_fps = default_fps

    def list_flow_files(self) -> list[str]:
        """Names of the flow sequences in `flow_dir` (records, then bare `.npy` files)."""
        if not self.flow_dir.is_dir():
            raise FlowFileError(f"flow folder not found: {self.flow_dir}")
        names = {p.stem for p in self.flow_dir.glob("*.json") if read_record(p) is not None}
        names |= {p.stem for p in self.flow_dir.glob("*.npy")
                  if not p.name.startswith(".") and _is_flow_shape(npy_shape(p))}
        return sorted(names)

    def _name(self, flow_file: str | os.PathLike) -> str:
        path = Path(flow_file)
        if path.suffix in (".npy", ".json"):
            path = path.with_suffix("")
        return path.name

    def load(self, flow_file: str | os.PathLike) -> tuple[np.ndarray, float]:
        """Stored flow `[T, H, W, 2] float32` pixels (memory-mapped when possible) and its fps.

        `flow_file` is a name in `flow_dir` ("clip" or "clip.npy") or a path with a folder.
        """
        name = self._name(flow_file)
        folder = Path(flow_file).parent if Path(flow_file).parent != Path(".") else self.flow_dir
        if record_path(folder, name).exists():
            flow, record = load_flow(folder, name)
            return flow, record.fps
        bare = data_path(folder, name, FLOW_FORMATS[0])
        return load_flow_npy(bare), self.default_fps

    def windows(self, flow_file: str | os.PathLike) -> list[Window]:
        """The windows of one stored sequence."""
        flow, fps = self.load(flow_file)
        return make_windows(self._name(flow_file), len(flow), fps, self.sequence_length, self.stride)

    def iter_sequences(self, flow_files: Iterable[str | os.PathLike]) -> Iterator[tuple[np.ndarray, Window]]:
        """Yield `([T, 224, 224, 2] float32 in [-1, 1], Window)` for every window of every file."""
        for flow_file in flow_files:
            flow, fps = self.load(flow_file)
            for window in make_windows(self._name(flow_file), len(flow), fps, self.sequence_length,
                                       self.stride):
                yield preprocess_flow(cut_window(flow, window), self.crop_size), window

    def iter_batches(self, flow_files: Iterable[str | os.PathLike], batch_size: int) -> Iterator[SequenceBatch]:
        """Every window of `flow_files`, in order, in batches of up to `batch_size`."""
        if batch_size < 1:
            raise SequenceError(f"batch_size must be at least 1, got {batch_size}")
        flows: list[np.ndarray] = []
        windows: list[Window] = []
        for flow, window in self.iter_sequences(flow_files):
            flows.append(flow)
            windows.append(window)
            if len(flows) == batch_size:
                yield SequenceBatch(np.stack(flows), windows)
                flows, windows = [], []
        if flows:
            yield SequenceBatch(np.stack(flows), windows)

    def create_sequence_batch(self, flow_files: Sequence[str | os.PathLike], batch_size: int) -> np.ndarray:
        """The first `batch_size` windows of `flow_files` (in order) as `[B, T, 224, 224, 2] float32`.

        B is smaller when the files hold fewer windows. Use `iter_batches` to walk every window with
        its time base.
        """
        batch = next(self.iter_batches(flow_files, batch_size), None)
        if batch is None:
            raise SequenceError("no flow files given")
        return batch.flow
