"""Progress reporting shared by the CLI (a tqdm bar) and the dashboard (a Streamlit progress bar).

Long operations take a `progress` callback called as `progress(done, total)`, where `total` is
None when unknown. The callback must be cheap; it is called once per unit of work.
"""

from __future__ import annotations

from typing import Callable, Optional

from tqdm import tqdm

ProgressCallback = Callable[[int, Optional[int]], None]


def no_progress(done: int, total: int | None) -> None:
    """A callback that ignores progress."""


def shifted(progress: ProgressCallback, done: int, total: int) -> ProgressCallback:
    """A callback for one stage of a longer job: `(d, _)` is reported as `(done + d, total)`."""
    return lambda stage_done, _stage_total: progress(done + stage_done, total)


class TqdmProgress:
    """A progress callback that drives a tqdm bar on stderr; use as a context manager."""

    def __init__(self, description: str, unit: str = "it", enabled: bool = True) -> None:
        self._bar = tqdm(desc=description, unit=unit, disable=not enabled, dynamic_ncols=True)

    def __call__(self, done: int, total: int | None) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
            self._bar.refresh()
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> "TqdmProgress":
        return self

    def __exit__(self, *exc_info) -> None:
        self._bar.close()
