"""How computed flow lives on disk: the data plus a JSON record that carries its time base.

For a video `clip.mp4` written to `out/`:
- `out/clip.npy` (format "npy"): `[T, H, W, 2] float32`, pixels (format "npy16": float16); or
- `out/clip/flow_x_00001.jpg`, `flow_y_00001.jpg`, ... (format "jpg", MMAction2 layout); or
- `out/clip_flo/000000.flo`, ... (format "flo", Middlebury, one file per flow frame);
- `out/clip.json`: the `FlowRecord` (fps, frame count, method, parameters, source fingerprint).

The record is written last, atomically: a data file without a record, or whose size disagrees with
its record, is incomplete and is recomputed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.common.atomic import write_json_atomic
from core.errors import FlowFileError, FlowParameterError
from core.flow.formats import load_flow_npy, npy_shape, read_flo, read_jpeg_pairs

FLOW_FORMATS = ("npy", "npy16", "jpg", "flo")
FLOW_STORAGE = ("none", *FLOW_FORMATS)  # where flow is a by-product (features): "none" keeps none


@dataclass(frozen=True)
class SourceFingerprint:
    """Identifies the input a result was computed from (size and modification time)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike) -> "SourceFingerprint":
        stat = Path(path).stat()
        return cls(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class FlowRecord:
    """What a stored flow sequence holds.

    `fps` is the rate of the frames the flow was computed from (after any resampling): flow frame
    t spans video frames t and t + 1, at t / fps and (t + 1) / fps seconds.
    """

    name: str
    format: str
    fps: float
    num_flow_frames: int
    height: int
    width: int
    method: str
    params: dict[str, Any]
    convention: str
    source: SourceFingerprint | None = None
    source_fps: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        """What determines the result, to compare a stored record with a new request."""
        return {"format": self.format, "method": self.method, "params": self.params,
                "convention": self.convention, "fps": self.fps if self.source_fps != self.fps else None,
                "source": self.source}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FlowRecord":
        source = data.get("source")
        return cls(**{**data, "source": SourceFingerprint(**source) if source else None})


def record_path(output_dir: str | os.PathLike, name: str) -> Path:
    return Path(output_dir) / f"{name}.json"


def data_path(output_dir: str | os.PathLike, name: str, fmt: str) -> Path:
    """Where the flow data of `name` in format `fmt` lives."""
    if fmt not in FLOW_FORMATS:
        raise FlowParameterError(f"unknown flow format {fmt!r}; use one of {FLOW_FORMATS}")
    suffix = {"npy": ".npy", "npy16": ".npy", "jpg": "", "flo": "_flo"}[fmt]
    return Path(output_dir) / f"{name}{suffix}"


def read_record(path: str | os.PathLike) -> FlowRecord | None:
    """The record at `path`, or None if it is missing or unreadable."""
    try:
        return FlowRecord.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_record(output_dir: str | os.PathLike, record: FlowRecord) -> Path:
    return write_json_atomic(record_path(output_dir, record.name), record.to_dict())


def is_whole(output_dir: str | os.PathLike, record: FlowRecord) -> bool:
    """True if the data that `record` describes is on disk and complete."""
    path = data_path(output_dir, record.name, record.format)
    expected = (record.num_flow_frames, record.height, record.width, 2)
    if record.format in ("npy", "npy16"):
        return npy_shape(path) == expected
    pattern = "flow_x_*.jpg" if record.format == "jpg" else "*.flo"
    return path.is_dir() and len(list(path.glob(pattern))) == record.num_flow_frames


def find_complete(output_dir: str | os.PathLike, name: str) -> FlowRecord | None:
    """The record of `name` in `output_dir` if its data is whole, else None."""
    record = read_record(record_path(output_dir, name))
    return record if record is not None and is_whole(output_dir, record) else None


def remove_flow(output_dir: str | os.PathLike, name: str) -> None:
    """Delete the record and every format's data for `name`."""
    record_path(output_dir, name).unlink(missing_ok=True)
    remove_other_formats(output_dir, name, keep=None)


def remove_other_formats(output_dir: str | os.PathLike, name: str, keep: str | None) -> None:
    """Delete the data of `name` in every format but `keep` (stale output of an earlier run)."""
    kept = data_path(output_dir, name, keep) if keep is not None else None
    for fmt in FLOW_FORMATS:
        path = data_path(output_dir, name, fmt)
        if path == kept:  # npy and npy16 share a file name
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def load_flow(output_dir: str | os.PathLike, name: str) -> tuple[np.ndarray, FlowRecord]:
    """Stored flow `[T, H, W, 2] float32` pixels (memory-mapped for npy) and its record."""
    record = find_complete(output_dir, name)
    if record is None:
        raise FlowFileError(f"no complete flow for {name!r} in {output_dir}; compute it first")
    path = data_path(output_dir, name, record.format)
    if record.format in ("npy", "npy16"):
        return load_flow_npy(path), record
    if record.format == "jpg":
        return read_jpeg_pairs(path), record
    return np.stack([read_flo(p) for p in sorted(path.glob("*.flo"))]), record
