"""Flow for video files on disk: one video to a stored flow sequence.

Work already on disk is reused: a video whose flow record says it was computed from the same file
with the same settings, and whose data is whole, is skipped. Output is written under temporary
names and renamed into place, so an interrupted run leaves nothing that looks complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import FlowParameterError, FolderNotFoundError
from core.flow.computer import OpticalFlowComputer
from core.flow.formats import NpyStreamWriter, write_flo, write_jpeg_pair
from core.flow.store import (FLOW_FORMATS, FlowRecord, SourceFingerprint, data_path, find_complete,
                             remove_other_formats, write_record)
from core.common.progress import ProgressCallback, no_progress
from core.video.decode import I3D_FLOW_TRANSFORM, VIDEO_EXTENSIONS, probe_video, resampled_frame_count


@dataclass(frozen=True)
class FlowJob:
    """Settings for computing stored flow.

    Attributes:
        method, params, workers: see `OpticalFlowComputer`.
        i3d: I3D's convention (grey, short side 256, centre crop 224); else native size.
        target_fps: resample videos to this rate first (I3D: 25); None keeps each video's rate.
        format: "npy", "jpg" (quantised MMAction2 pairs) or "flo".
    """

    method: str = "tvl1"
    params: dict = field(default_factory=dict)
    i3d: bool = True
    target_fps: float | None = None
    format: str = "npy"
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.format not in FLOW_FORMATS:
            raise FlowParameterError(f"unknown flow format {self.format!r}; use one of {FLOW_FORMATS}")

    def computer(self) -> OpticalFlowComputer:
        return OpticalFlowComputer(self.method, workers=self.workers, **self.params)


@dataclass
class FlowResult:
    """The outcome for one video: the record, and whether it was found on disk (skipped)."""

    video: Path
    record: FlowRecord
    skipped: bool = False


def _frame_writer(target: Path, fmt: str) -> tuple[Callable[[int, np.ndarray], None], Callable[[], None],
                                                   Callable[[], None]]:
    """(write(index, frame), commit(), abort()) for one output format, all via temporary names."""
    if fmt == "npy":
        writer = NpyStreamWriter(target)
        return lambda _, frame: writer.write(frame), writer.close, writer.abort
    tmp_dir = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp_dir.mkdir(parents=True)
    if fmt == "jpg":
        def write(index: int, frame: np.ndarray) -> None:
            write_jpeg_pair(tmp_dir, index, frame)
    else:
        def write(index: int, frame: np.ndarray) -> None:
            write_flo(tmp_dir / f"{index:06d}.flo", frame)

    def commit() -> None:
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp_dir, target)

    return write, commit, lambda: shutil.rmtree(tmp_dir, ignore_errors=True)


def compute_video_flow(video_path: str | os.PathLike, output_dir: str | os.PathLike, job: FlowJob = FlowJob(),
                       progress: ProgressCallback = no_progress, overwrite: bool = False,
                       computer: OpticalFlowComputer | None = None) -> FlowResult:
    """Compute and store the flow of one video (see `core.flow.store` for the layout).

    Returns a `FlowResult` with `skipped=True` if whole output with the same settings was already
    there. Raises the video errors of `core.video.decode` for bad input; writes nothing in that case.
    """
    video_path = Path(video_path)
    name = video_path.stem
    info = probe_video(video_path, min_frames=2)
    fps = job.target_fps or info.fps
    transform = I3D_FLOW_TRANSFORM if job.i3d else None
    width, height = transform.output_size(info.width, info.height) if transform else (info.width, info.height)
    computer = computer or job.computer()
    expected = FlowRecord(
        name=name, format=job.format, fps=fps, source_fps=info.fps,
        num_flow_frames=resampled_frame_count(info.frame_count, info.fps, job.target_fps) - 1,
        height=height, width=width, method=job.method, params=computer.params,
        convention="i3d" if job.i3d else "native", source=SourceFingerprint.of(video_path))
    existing = find_complete(output_dir, name)
    if not overwrite and existing is not None and existing.settings() == expected.settings():
        progress(existing.num_flow_frames, existing.num_flow_frames)
        return FlowResult(video_path, existing, skipped=True)
    write, commit, abort = _frame_writer(data_path(output_dir, name, job.format), job.format)
    count = 0
    try:
        for count, flow in enumerate(computer.iter_video(video_path, job.i3d, job.target_fps,
                                                         progress=progress, info=info), start=1):
            write(count - 1, flow)
        commit()
    except BaseException:
        abort()
        raise
    record = FlowRecord(**{**expected.__dict__, "num_flow_frames": count})
    write_record(output_dir, record)
    remove_other_formats(output_dir, name, keep=job.format)
    return FlowResult(video_path, record)


def find_videos(input_dir: str | os.PathLike) -> list[Path]:
    """Video files directly in `input_dir` (by extension), sorted by name."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise FolderNotFoundError(f"input folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
