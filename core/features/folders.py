"""Data folders: the videos or stored flow in a folder (or in its class folders), and the features
of every one of them.

A data folder may hold videos, stored flow (`.npy` + record), or one sub-folder per class of either;
`find_sequences` lists what is there as (name, path, class or None).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from core.errors import DFEError
from core.features.store import FeatureSet, write_features
from core.flow.formats import npy_shape
from core.flow.pipeline import output_names
from core.common.progress import ProgressCallback, no_progress
from core.features.sequences import OpticalFlowSequenceLoader
from core.video.decode import VIDEO_EXTENSIONS

class DatasetError(DFEError, ValueError):
    """The data folder is not a usable labelled dataset."""


def class_folders(data_dir: str | os.PathLike) -> list[Path]:
    """The class folders of a dataset (sub-folders holding videos or .npy flow), sorted."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"data folder not found: {root}")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and
                  any(f.suffix.lower() in (*VIDEO_EXTENSIONS, ".npy") for f in p.iterdir()))


@dataclass(frozen=True)
class Sequence:
    """One input: a video or a stored flow `.npy`, with its class folder name when labelled.

    `output_name` is what its outputs are called in its output folder (its stem, or its file name
    where two inputs of a folder share a stem); `name` adds the class folder to it."""

    name: str
    path: Path
    label: str | None
    output_name: str

    @property
    def is_video(self) -> bool:
        return self.path.suffix.lower() in VIDEO_EXTENSIONS


def _inputs_in(folder: Path, label: str | None) -> list[Sequence]:
    inputs = [path for path in sorted(p for p in folder.iterdir() if not p.name.startswith("."))  # no uploads in progress
              if path.suffix.lower() in VIDEO_EXTENSIONS or (path.suffix == ".npy" and (npy_shape(path) or ())[-1:] == (2,))]
    names = output_names(inputs)
    return [Sequence(f"{label}__{names[path]}" if label else names[path], path, label, names[path]) for path in inputs]


def find_sequences(data_dir: str | os.PathLike) -> list[Sequence]:
    """Every video / stored flow in `data_dir`, or in its class folders (labelled)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DFEError(f"data folder not found: {root}")
    folders = class_folders(root)
    sequences = [s for folder in folders for s in _inputs_in(folder, folder.name)] if folders else _inputs_in(root, None)
    if not sequences:
        raise DFEError(f"no videos or .npy flow in {root} (or in class folders under it)")
    return sequences


def sequence_features(extractor, sequence: Sequence, output_dir: Path,
                      progress: ProgressCallback = no_progress) -> FeatureSet:
    """Per-window features of one input, written to `output_dir` (videos: flow cached in
    `output_dir/flow`, features reused on re-runs)."""
    if sequence.is_video:
        result = extractor.extract_video(sequence.path, output_dir=output_dir, progress=progress,
                                         name=sequence.output_name)
    else:
        loader = OpticalFlowSequenceLoader(sequence.path.parent)
        flow, fps = loader.load(sequence.path)
        result = extractor.extract_flow(flow, fps, sequence.output_name, progress)
        write_features(output_dir, result)
    result.name = sequence.name
    return result


def extract_folder(extractor, data_dir: str | os.PathLike, output_dir: str | os.PathLike,
                   progress_for: Callable[[Sequence], ProgressCallback] = lambda _: no_progress,
                   ) -> tuple[list[tuple[Sequence, FeatureSet]], list[tuple[Sequence, str]]]:
    """Features for every input: ([(input, features)], [(input, error message)]); a bad input is
    reported and the others go on."""
    done, failed = [], []
    for sequence in find_sequences(data_dir):
        folder = Path(output_dir) / sequence.label if sequence.label else Path(output_dir)
        try:
            done.append((sequence, sequence_features(extractor, sequence, folder, progress_for(sequence))))
        except DFEError as error:
            failed.append((sequence, str(error)))
    return done, failed
