"""Windows cut from a stream of frames as the frames arrive, and a model run on them in batches as
they are cut: what lets a video go from decoding to features in one pass, in memory that does not
grow with its length.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Sequence

import numpy as np

from core.common.progress import ProgressCallback, no_progress
from core.features.sequences import Window, pad_window


class WindowCutter:
    """Cuts `windows` out of frames pushed one at a time, in order (frame i is the i-th pushed).

    A window over frames [start, stop) is ready when frame stop - 1 arrives; it comes back padded by
    the padding rule (`pad_window`), exactly as `cut_window` cuts it from frames held whole. Only the
    frames a pending window still needs are kept.
    """

    def __init__(self, windows: Sequence[Window]) -> None:
        self._pending = deque(sorted(windows, key=lambda w: w.start))
        self._kept: deque[np.ndarray] = deque()
        self._first_kept = 0  # index of self._kept[0]
        self._next = 0  # index of the next frame pushed

    def push(self, frame: np.ndarray) -> list[tuple[Window, np.ndarray]]:
        """Add the next frame; returns the windows it completes as (window, `[L, ...]` frames)."""
        self._kept.append(frame)
        index, self._next = self._next, self._next + 1
        ready = []
        while self._pending and self._pending[0].stop - 1 <= index:
            window = self._pending.popleft()
            frames = [self._kept[i - self._first_kept] for i in range(window.start, window.stop)]
            ready.append((window, pad_window(np.stack(frames), window)))
        keep_from = self._pending[0].start if self._pending else index + 1
        while self._kept and self._first_kept < keep_from:
            self._kept.popleft()
            self._first_kept += 1
        return ready

    @property
    def finished(self) -> bool:
        """True when every window has been cut."""
        return not self._pending


class BatchedForward:
    """Runs `forward` on items added one at a time, `batch_size` at once (`[B, ...]` stacked); the
    outputs are kept in order. `progress(items done, total)` is called after each batch."""

    def __init__(self, forward: Callable[[np.ndarray], Any], batch_size: int, total: int | None = None,
                 progress: ProgressCallback = no_progress) -> None:
        self._forward, self._batch_size, self._total, self._progress = forward, batch_size, total, progress
        self._pending: list[np.ndarray] = []
        self._outputs: list[Any] = []
        self._done = 0

    def add(self, item: np.ndarray) -> None:
        self._pending.append(item)
        if len(self._pending) == self._batch_size:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._outputs.append(self._forward(np.stack(self._pending)))
            self._done += len(self._pending)
            self._pending = []
            self._progress(self._done, self._total)

    def outputs(self) -> list[Any]:
        """Every batch's output, in order, after running what is still pending."""
        self._flush()
        return self._outputs


class WindowForward:
    """Features of `windows` from frames pushed one at a time: each window is cut as its last frame
    arrives (`WindowCutter`), made model input by `prepare` and run through `forward` with others,
    `batch_size` at once (`BatchedForward`); `progress(windows done, windows)` after each batch."""

    def __init__(self, windows: Sequence[Window], prepare: Callable[[np.ndarray], np.ndarray],
                 forward: Callable[[np.ndarray], np.ndarray], batch_size: int,
                 progress: ProgressCallback = no_progress) -> None:
        self._cutter, self._prepare = WindowCutter(windows), prepare
        self._batches = BatchedForward(forward, batch_size, len(windows), progress)

    def push(self, frame: np.ndarray) -> None:
        """Add the next frame; the windows it completes join the batch."""
        for _, clip in self._cutter.push(frame):
            self._batches.add(self._prepare(clip))

    def features(self) -> np.ndarray:
        """`[N, ...]` outputs, row i for `windows[i]`, once every frame has been pushed."""
        return np.concatenate(self._batches.outputs())
