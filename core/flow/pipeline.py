"""Flow of video files: one video's flow as a stream, stored on disk with its record when asked.

Work already on disk is reused: a video whose flow record says it was computed from the same file
with the same settings, and whose data is whole, is skipped. Output is written under temporary
names and renamed into place, so an interrupted run leaves nothing that looks complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from core.errors import FlowParameterError, FolderNotFoundError
from core.flow.computer import OpticalFlowComputer
from core.flow.formats import NpyStreamWriter, write_flo, write_jpeg_pair
from core.flow.store import (FLOW_FORMATS, FlowRecord, SourceFingerprint, data_path, find_complete, load_flow,
                             remove_other_formats, write_record)
from core.common.progress import ProgressCallback, no_progress
from core.video.decode import (I3D_FLOW_TRANSFORM, VIDEO_EXTENSIONS, VideoInfo, iter_frames, probe_video,
                               resampled_frame_count)


@dataclass(frozen=True)
class FlowJob:
    """Settings for computing stored flow.

    Attributes:
        method, params, workers: see `OpticalFlowComputer`.
        i3d: I3D's convention (grey, short side 256, centre crop 224); else native size.
        target_fps: resample videos to this rate first (I3D: 25); None keeps each video's rate.
        format: "npy", "npy16" (float16), "jpg" (quantised MMAction2 pairs) or "flo".
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
    if fmt in ("npy", "npy16"):
        writer = NpyStreamWriter(target, np.float16 if fmt == "npy16" else np.float32)
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


class VideoFlow:
    """The flow of one video under `job`, as a stream of `[H, W, 2] float32` pixel frames: read back
    when `output_dir` already holds it whole with the same settings (`stored`), else computed pair by
    pair and, with `output_dir`, stored as it goes (see `core.flow.store` for the layout).

    `record` says what the stream holds (fps, frame count, size, method) before it is read. The stored
    flow is called `name` (default: the video's stem); `info` is the video's `probe_video` result if
    the caller has it (saves a second probe). Raises the video errors of `core.video` for bad input,
    before anything is written.
    """

    def __init__(self, video_path: str | os.PathLike, job: FlowJob = FlowJob(),
                 output_dir: str | os.PathLike | None = None, overwrite: bool = False,
                 computer: OpticalFlowComputer | None = None, name: str | None = None,
                 info: VideoInfo | None = None) -> None:
        self.video = Path(video_path)
        self.name = name or self.video.stem  # what the stored flow is called
        self.job = job
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.info = info if info is not None and info.frame_count >= 2 else probe_video(self.video, min_frames=2)
        self.computer = computer or job.computer()
        transform = I3D_FLOW_TRANSFORM if job.i3d else None
        width, height = transform.output_size(self.info.width, self.info.height) if transform else \
            (self.info.width, self.info.height)
        self.record = FlowRecord(
            name=self.name, format=job.format, fps=job.target_fps or self.info.fps, source_fps=self.info.fps,
            num_flow_frames=resampled_frame_count(self.info.frame_count, self.info.fps, job.target_fps) - 1,
            height=height, width=width, method=job.method, params=self.computer.params,
            convention="i3d" if job.i3d else "native", source=SourceFingerprint.of(self.video))
        existing = find_complete(self.output_dir, self.name) if self.output_dir is not None else None
        same = existing is not None and existing.settings() == self.record.settings()
        self.stored: FlowRecord | None = existing if same and not overwrite else None

    def decoded_frames(self) -> Iterator[np.ndarray]:
        """The video's frames at the job's rate, `[H, W, 3] uint8` BGR, as `frames` takes them."""
        return iter_frames(self.video, self.job.target_fps, info=self.info)

    def frames(self, decoded: Iterable[np.ndarray] | None = None,
               progress: ProgressCallback = no_progress) -> Iterator[np.ndarray]:
        """The flow, pair by pair: read back if `stored`, else computed from `decoded` (default:
        `decoded_frames()`; a caller that needs the frames too passes them on) and written to
        `output_dir` if given, under temporary names renamed into place when whole."""
        if self.stored is not None:
            progress(self.stored.num_flow_frames, self.stored.num_flow_frames)
            yield from load_flow(self.output_dir, self.name)[0]
            return
        transform = I3D_FLOW_TRANSFORM if self.job.i3d else None
        frames = (transform(f) if transform else f for f in (decoded if decoded is not None else self.decoded_frames()))
        if self.output_dir is None:
            yield from self.computer.iter_flow(frames, progress, self.record.num_flow_frames)
            return
        write, commit, abort = _frame_writer(data_path(self.output_dir, self.name, self.job.format),
                                             self.job.format)
        count = 0
        try:
            for count, flow in enumerate(self.computer.iter_flow(frames, progress, self.record.num_flow_frames), 1):
                write(count - 1, flow)
                yield flow
            commit()
        except BaseException:  # GeneratorExit too: a stream closed early leaves nothing behind
            abort()
            raise
        self.record = FlowRecord(**{**self.record.__dict__, "num_flow_frames": count})
        write_record(self.output_dir, self.record)
        remove_other_formats(self.output_dir, self.name, keep=self.job.format)


def compute_video_flow(video_path: str | os.PathLike, output_dir: str | os.PathLike, job: FlowJob = FlowJob(),
                       progress: ProgressCallback = no_progress, overwrite: bool = False,
                       computer: OpticalFlowComputer | None = None, name: str | None = None) -> FlowResult:
    """Compute and store the flow of one video (see `VideoFlow`).

    Returns a `FlowResult` with `skipped=True` if whole output with the same settings was already
    there. Raises the video errors of `core.video` for bad input; writes nothing in that case.
    """
    flow = VideoFlow(video_path, job, output_dir, overwrite, computer, name)
    if flow.stored is not None:
        progress(flow.stored.num_flow_frames, flow.stored.num_flow_frames)
        return FlowResult(flow.video, flow.stored, skipped=True)
    for _ in flow.frames(progress=progress):
        pass
    return FlowResult(flow.video, flow.record)


def output_names(paths: list[Path]) -> dict[Path, str]:
    """What each input's outputs are called: its stem, or its file name where two inputs share a
    stem (`clip.mp4` and `clip.avi` must not write, reuse or report each other's outputs)."""
    stems = Counter(path.stem for path in paths)
    return {path: path.stem if stems[path.stem] == 1 else path.name for path in paths}


def find_videos(input_dir: str | os.PathLike) -> list[Path]:
    """Video files directly in `input_dir` (by extension), sorted by name."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise FolderNotFoundError(f"input folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
