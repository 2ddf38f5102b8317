"""Features of overlapping windows from one I3D pass over the stream (`model.window_mode: shared`).

I3D halves time three times on the way to Mixed_5c (8 input frames per step), and `Logits_AvgPool`
averages 2 steps with a temporal stride of 1. Over a chunk of 8P flow frames it therefore gives P - 1
outputs, output i being the `Features` of the 16-frame window starting at frame 8i of the chunk. One
forward of a chunk replaces P - 1 forwards of overlapping windows: with windows every 8 frames it
does about half the work of computing each window alone, every 4 frames a quarter, and so on.

Windows whose start is not on a chunk's grid are served by chunks of their own phase (start modulo
8); a window with padded frames (a video shorter than one window) is computed alone. A window's
features differ from those it gets alone because its convolutions see the frames around it (where the
window alone sees zero padding). Measured (`benchmarks/shared_windows.py`, 10 s of real video, DIS):
1.6x faster at strides 8 to 2 on 2 CPUs; cosine to the exact features 0.95 with random weights but
only 0.64 (stride 8) with the default `motion_curriculum` weights, which were trained on lone 16-frame windows and
lean on their edges. Shared and exact features are therefore not to be mixed (the mode is part of the
features' settings).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from core.common.progress import ProgressCallback, no_progress
from core.errors import ConfigError
from core.features.sequences import Window
from core.features.streaming import WindowCutter
from core.model.endpoints import POOLED_FRAMES, TEMPORAL_STRIDE

GRID = TEMPORAL_STRIDE  # chunks start on this grid of frames (one step of Mixed_5c)
SPAN = POOLED_FRAMES  # frames behind one output of Logits_AvgPool: each shared window's length
CHUNK_FRAMES = 128  # frames per forward: 15 windows of 16 every 8 (a window alone would need 240)


def plan_chunks(windows: Sequence[Window], chunk_frames: int = CHUNK_FRAMES) -> tuple[list[Window], list[Window]]:
    """(chunks, alone): stretches of the stream whose pooled outputs give every full 16-frame window
    of `windows`, and the windows left to compute on their own (padded ones).

    Chunks are `Window`s of 16 to `chunk_frames` frames (a multiple of 8). Those of one phase follow
    each other with an overlap of 8 frames, so output i of a chunk starting at frame c is the window
    starting at c + 8i, and every start of that phase is some chunk's output.
    """
    if chunk_frames % GRID or chunk_frames < SPAN:
        raise ConfigError(f"chunk_frames must be a multiple of {GRID} of at least {SPAN}, got {chunk_frames}")
    alone = [window for window in windows if window.padded or window.stop - window.start != SPAN]
    full = [window for window in windows if window not in alone]
    chunks: list[Window] = []
    for phase in sorted({window.start % GRID for window in full}):
        starts = sorted(window.start for window in full if window.start % GRID == phase)
        start, end = starts[0], starts[-1] + SPAN
        while start + SPAN <= end:
            length = min(chunk_frames, (end - start) // GRID * GRID)
            chunks.append(_chunk(windows[0], len(chunks), start, start + length))
            start += length - GRID
    return chunks, alone


def _chunk(like: Window, index: int, start: int, stop: int) -> Window:
    """A chunk of frames [start, stop) of the sequence `like` belongs to, timed at its frame rate."""
    ms_per_frame = (like.end_ms - like.start_ms) / max(like.stop - like.start, 1)
    return Window(like.source, index, start, stop, start, stop, start * ms_per_frame, stop * ms_per_frame)


class SharedWindows:
    """Features of `windows` from flow frames pushed one at a time, computed chunk by chunk.

    Args:
        windows: the windows whose features are wanted (`make_windows`), each 16 frames.
        prepare: `[L, H, W, 2]` pixel flow -> `[L, S, S, 2]` model input (I3D preprocessing).
        chunk_forward: `[1, 8P, S, S, 2]` -> `[P - 1, D]` per-window features of one chunk.
        alone_forward: `[B, 16, S, S, 2]` -> `[B, D]` features of windows computed on their own.
        progress: called with (windows done, windows) after each chunk.
    """

    def __init__(self, windows: Sequence[Window], prepare: Callable[[np.ndarray], np.ndarray],
                 chunk_forward: Callable[[np.ndarray], np.ndarray], alone_forward: Callable[[np.ndarray], np.ndarray],
                 progress: ProgressCallback = no_progress, chunk_frames: int = CHUNK_FRAMES) -> None:
        self._windows = list(windows)
        chunks, self._alone = plan_chunks(self._windows, chunk_frames)
        self._chunks, self._alone_cutter = WindowCutter(chunks), WindowCutter(self._alone)
        self._prepare, self._chunk_forward, self._alone_forward = prepare, chunk_forward, alone_forward
        self._progress = progress
        self._wanted = {window.start for window in self._windows if window not in self._alone}
        self._by_start: dict[int, np.ndarray] = {}
        self._alone_features: dict[int, np.ndarray] = {}

    def push(self, frame: np.ndarray) -> None:
        """Add the next flow frame `[H, W, 2]`; runs the chunks and lone windows it completes."""
        for chunk, frames in self._chunks.push(frame):
            outputs = self._chunk_forward(self._prepare(frames)[None])
            for step, features in enumerate(outputs):
                if chunk.start + GRID * step in self._wanted:
                    self._by_start[chunk.start + GRID * step] = features
            self._progress(len(self._by_start), len(self._windows))
        for window, frames in self._alone_cutter.push(frame):
            self._alone_features[window.index] = self._alone_forward(self._prepare(frames)[None])[0]

    def features(self) -> np.ndarray:
        """`[N, D] float32`, row i for `windows[i]`, once every frame has been pushed."""
        rows = [self._alone_features[window.index] if window in self._alone else self._by_start[window.start]
                for window in self._windows]
        self._progress(len(self._windows), len(self._windows))
        return np.stack(rows).astype(np.float32)
