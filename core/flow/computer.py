"""`OpticalFlowComputer`: dense optical flow for frame pairs, frame streams and whole videos.

Flow is `[H, W, 2] float32` per pair, channels (dx, dy) in pixels, such that the content at (x, y) in
frame t is at (x + dx, y + dy) in frame t + 1; a video of T frames gives `[T-1, H, W, 2]`.

Pairs are independent, so a stream is computed by a pool of worker threads (OpenCV releases the GIL),
each with its own OpenCV object; results come back in order and equal the sequential ones. OpenCV's
own thread count is the process's, set once by its entry point (`core.common.process`), which sets
it to 1 so that the pairs, not the inside of each pair, share the cores.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from itertools import islice
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from core.common.process import available_cpus
from core.errors import FlowShapeError, TooFewFramesError
from core.flow.methods import FlowMethod, PairFunction, get_method
from core.common.progress import ProgressCallback, no_progress
from core.video.decode import (FrameTransform, I3D_FLOW_TRANSFORM, VideoInfo, iter_frames, probe_video,
                        resampled_frame_count)


class OpticalFlowComputer:
    """Dense optical flow with one of the registered methods (see `core.flow.methods`).

    Args:
        method: "farneback", "dis", "tvl1", "deepflow" or "rlof".
        workers: threads that compute pairs in parallel; None uses every available CPU.
        **params: the method's parameters (see `FLOW_METHODS[method].defaults`); unknown names raise.
    """

    def __init__(self, method: str = "dis", workers: int | None = None, **params: Any) -> None:
        self.method: FlowMethod = get_method(method)
        self.params: dict[str, Any] = self.method.resolve(params)
        self.workers = max(1, workers if workers is not None else available_cpus())
        self.method.build(self.params)  # fail now on bad parameter values, not in a worker
        self._local = threading.local()
        self._batch = None  # a batched method's batch function, built on first use

    def __repr__(self) -> str:
        return f"OpticalFlowComputer(method={self.method.name!r}, workers={self.workers})"

    def _pair_function(self) -> PairFunction:
        """This thread's own OpenCV object for the method."""
        function = getattr(self._local, "function", None)
        if function is None:
            function = self._local.function = self.method.build(self.params)
        return function

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
            raise FlowShapeError(f"frames must be [H, W] or [H, W, 3] uint8, got {frame.shape} "
                                 f"{frame.dtype}")
        if self.method.color and frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        elif not self.method.color and frame.ndim == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        return np.ascontiguousarray(frame)

    def compute(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        """Flow from `frame_a` to `frame_b` (grey `[H, W]` or BGR `[H, W, 3]` uint8, same size).

        Returns `[H, W, 2] float32` (dx, dy) in pixels.
        """
        if frame_a.shape[:2] != frame_b.shape[:2]:
            raise FlowShapeError(f"frames differ in size: {frame_a.shape} vs {frame_b.shape}")
        return self._pair_function()(self._prepare(frame_a), self._prepare(frame_b))

    def iter_flow(self, frames: Iterable[np.ndarray], progress: ProgressCallback = no_progress,
                  total_pairs: int | None = None) -> Iterator[np.ndarray]:
        """Yield the flow of each consecutive pair of `frames`, in order, `[H, W, 2] float32`.

        Frames are consumed lazily: at most `2 * workers` pairs are in flight, so memory stays
        constant however long the stream is. `progress(done, total_pairs)` is called per pair.
        """
        if self.method.build_batch is not None:
            yield from self._iter_batched(frames, progress, total_pairs)
            return
        if self.workers == 1:
            yield from self._iter_sequential(frames, progress, total_pairs)
            return
        with ThreadPoolExecutor(self.workers, "flow") as pool:
            pending: deque[Future] = deque()
            done = 0
            for first, second in self._pairs(frames):
                pending.append(pool.submit(self._pair_function_call, first, second))
                if len(pending) >= 2 * self.workers:
                    done += 1
                    yield pending.popleft().result()
                    progress(done, total_pairs)
            while pending:
                done += 1
                yield pending.popleft().result()
                progress(done, total_pairs)

    def _iter_batched(self, frames: Iterable[np.ndarray], progress: ProgressCallback,
                      total_pairs: int | None) -> Iterator[np.ndarray]:
        """For a batched method: `batch_size` pairs at a time through one call (which uses every
        core, or the GPU, itself)."""
        if self._batch is None:
            self._batch = self.method.build_batch(self.params)
        pairs = self._pairs(frames)
        done = 0
        while chunk := list(islice(pairs, self.params["batch_size"])):
            firsts, seconds = zip(*chunk)
            for flow in self._batch(np.stack(firsts), np.stack(seconds)):
                done += 1
                yield flow
                progress(done, total_pairs)

    def _pairs(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consecutive (frame t, frame t + 1), each prepared for the method."""
        previous = None
        for frame in frames:
            frame = self._prepare(frame)
            if previous is not None:
                yield previous, frame
            previous = frame

    def _pair_function_call(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        return self._pair_function()(frame_a, frame_b)

    def _iter_sequential(self, frames: Iterable[np.ndarray], progress: ProgressCallback,
                         total_pairs: int | None) -> Iterator[np.ndarray]:
        for done, (first, second) in enumerate(self._pairs(frames), start=1):
            yield self._pair_function_call(first, second)
            progress(done, total_pairs)

    def compute_sequence(self, frames: Iterable[np.ndarray], progress: ProgressCallback = no_progress,
                         total_pairs: int | None = None) -> np.ndarray:
        """Flow of a frame sequence as `[T-1, H, W, 2] float32`; needs at least two frames."""
        flows = list(self.iter_flow(frames, progress, total_pairs))
        if not flows:
            raise TooFewFramesError("optical flow needs at least two frames")
        return np.stack(flows)

    def iter_video(self, video_path: str | os.PathLike, i3d: bool = False,
                   target_fps: float | None = None, transform: FrameTransform | None = None,
                   progress: ProgressCallback = no_progress,
                   info: VideoInfo | None = None) -> Iterator[np.ndarray]:
        """Stream the flow of a video file, pair by pair, `[H, W, 2] float32`.

        Args:
            i3d: I3D's convention (grey, short side 256, centre crop 224); overrides `transform`.
            target_fps: resample the video first (I3D uses 25); None keeps its rate.
            transform: per-frame preparation when not `i3d`.
            info: the video's `probe_video` result if the caller has it (saves a second probe).
        """
        info = info or probe_video(video_path, min_frames=2)
        total = resampled_frame_count(info.frame_count, info.fps, target_fps) - 1
        frames = iter_frames(video_path, target_fps, I3D_FLOW_TRANSFORM if i3d else transform, info)
        yield from self.iter_flow(frames, progress, total)

    def compute_video(self, video_path: str | os.PathLike, i3d: bool = False,
                      target_fps: float | None = None, transform: FrameTransform | None = None,
                      progress: ProgressCallback = no_progress) -> np.ndarray:
        """Flow of a whole video as `[T-1, H, W, 2] float32` (see `iter_video` for the options)."""
        return np.stack(list(self.iter_video(video_path, i3d, target_fps, transform, progress)))
