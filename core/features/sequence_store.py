"""Preprocessed windows on disk: `<name>_windows.npy` `[N, T, 224, 224, 2] float32` in [-1, 1] and
`<name>_windows.json` with each window's frames and times, the fps and the settings.

The JSON index is written last, atomically, after the array has been renamed into place; output
whose index is missing, whose settings differ, or whose array size disagrees is recomputed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from core.common.atomic import write_json_atomic
from core.flow.formats import NpyStreamWriter, npy_shape
from core.flow.store import FLOW_FORMATS, SourceFingerprint, data_path, record_path
from core.common.progress import ProgressCallback, no_progress
from core.features.sequences import OpticalFlowSequenceLoader, cut_window, make_windows, preprocess_flow


@dataclass
class SequenceOutput:
    """Where one sequence's windows were written and whether they were already there."""

    name: str
    array_path: Path
    index_path: Path
    num_windows: int
    skipped: bool


def _source_file(loader: OpticalFlowSequenceLoader, name: str) -> Path:
    record = record_path(loader.flow_dir, name)
    return record if record.exists() else data_path(loader.flow_dir, name, FLOW_FORMATS[0])


def write_sequences(loader: OpticalFlowSequenceLoader, name: str, output_dir: str | os.PathLike,
                    progress: ProgressCallback = no_progress, overwrite: bool = False) -> SequenceOutput:
    """Preprocess every window of the stored flow `name` and write them to `output_dir`."""
    output_dir = Path(output_dir)
    array_path = output_dir / f"{name}_windows.npy"
    index_path = output_dir / f"{name}_windows.json"
    flow, fps = loader.load(name)
    windows = make_windows(name, len(flow), fps, loader.sequence_length, loader.stride)
    settings = {"sequence_length": loader.sequence_length, "stride": loader.stride,
                "crop_size": loader.crop_size, "source": asdict(SourceFingerprint.of(_source_file(loader, name)))}
    shape = (len(windows), loader.sequence_length, loader.crop_size, loader.crop_size, 2)
    if not overwrite and _is_done(index_path, array_path, settings, shape):
        progress(len(windows), len(windows))
        return SequenceOutput(name, array_path, index_path, len(windows), skipped=True)
    with NpyStreamWriter(array_path) as writer:
        for done, window in enumerate(windows, start=1):
            writer.write(preprocess_flow(cut_window(flow, window), loader.crop_size))
            progress(done, len(windows))
    write_json_atomic(index_path, {"name": name, "fps": fps, "shape": list(shape), "settings": settings,
                                   "windows": [w.to_dict() for w in windows]})
    return SequenceOutput(name, array_path, index_path, len(windows), skipped=False)


def _is_done(index_path: Path, array_path: Path, settings: dict, shape: tuple[int, ...]) -> bool:
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        return False
    return index.get("settings") == settings and npy_shape(array_path) == shape
