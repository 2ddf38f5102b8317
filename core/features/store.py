"""Features on disk: `<name>_features.npy` (`[N, D] float32`, one row per window) beside
`<name>_features.json` (fps, model settings, and per window its frames and times in ms) and
`<name>_features.csv` (the same index as a table, for spreadsheets). All written atomically; the
JSON index is written last and marks the output complete.

Many videos' features in one HDF5 file (`write_features_hdf5`, as temporal-action-localisation tools
read them): a group per video with `features` `[N, D] float32`, per window `time_ms` (its centre),
`start_ms`, `end_ms`, `first_frame`, `last_frame`, and the attributes `fps` and `settings` (JSON).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from core.common.atomic import atomic_path, save_npy_atomic, write_json_atomic
from core.errors import DFEError
from core.flow.formats import npy_shape
from core.features.sequences import Window


class FeatureFileError(DFEError):
    """A features file cannot be written or read as asked."""


@dataclass
class FeatureSet:
    """Per-window features of one video: `features` is `[N, D] float32` (or `[N, ...]` for a
    spatial endpoint), `windows` the N windows, `fps` the frame rate of their frame numbers."""

    name: str
    features: np.ndarray
    windows: list[Window]
    fps: float
    settings: dict[str, Any]
    predictions: list[list[dict[str, Any]]] | None = None  # per window: top-5 {label, probability}

    def index(self) -> dict[str, Any]:
        windows = [w.to_dict() for w in self.windows]
        if self.predictions is not None:
            windows = [{**w, "top5": top5} for w, top5 in zip(windows, self.predictions)]
        return {"name": self.name, "fps": self.fps, "shape": list(self.features.shape),
                "settings": self.settings, "windows": windows}


def feature_paths(output_dir: str | os.PathLike, name: str) -> tuple[Path, Path, Path]:
    """(array, JSON index, CSV index) paths for `name` (which may hold dots, e.g. `clip.mp4`)."""
    folder = Path(output_dir)
    return tuple(folder / f"{name}_features{suffix}" for suffix in (".npy", ".json", ".csv"))


def write_features(output_dir: str | os.PathLike, feature_set: FeatureSet) -> Path:
    """Write the three files; returns the array path."""
    array_path, json_path, csv_path = feature_paths(output_dir, feature_set.name)
    save_npy_atomic(array_path, feature_set.features.astype(np.float32))
    rows = io.StringIO()
    columns = ["index", "first_frame", "last_frame", "start_ms", "end_ms", "centre_ms", "padded"]
    records = [{**w.to_dict(), "centre_ms": w.centre_ms} for w in feature_set.windows]
    if feature_set.predictions is not None:
        columns += ["top1_label", "top1_probability"]
        for record, top5 in zip(records, feature_set.predictions):
            record.update(top1_label=top5[0]["label"], top1_probability=top5[0]["probability"])
    writer = csv.DictWriter(rows, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    with atomic_path(csv_path) as tmp:
        tmp.write_text(rows.getvalue())
    write_json_atomic(json_path, feature_set.index())
    return array_path


def read_features(output_dir: str | os.PathLike, name: str) -> FeatureSet | None:
    """The stored features of `name`, or None if missing or incomplete."""
    array_path, json_path, _ = feature_paths(output_dir, name)
    try:
        index = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return None
    if npy_shape(array_path) != tuple(index["shape"]):
        return None
    windows = [Window(**{k: v for k, v in w.items() if k != "top5"}) for w in index["windows"]]
    predictions = [w["top5"] for w in index["windows"]] if index["windows"] and "top5" in index["windows"][0] \
        else None
    return FeatureSet(name, np.load(array_path), windows, index["fps"], index["settings"], predictions)


_WINDOW_COLUMNS = ("start_ms", "end_ms", "first_frame", "last_frame", "padded")


def write_features_hdf5(path: str | os.PathLike, feature_sets: Mapping[str, FeatureSet]) -> Path:
    """Write `{group name: features}` into one HDF5 file at `path` (see the module docstring),
    atomically; returns the path. Group names must not contain "/"."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        for group_name, feature_set in feature_sets.items():
            if "/" in group_name:
                raise FeatureFileError(f"an HDF5 group name cannot hold '/': {group_name!r}")
            group = handle.create_group(group_name)
            group.create_dataset("features", data=feature_set.features.astype(np.float32))
            group.create_dataset("time_ms", data=np.array([w.centre_ms for w in feature_set.windows]))
            for column in _WINDOW_COLUMNS:
                group.create_dataset(column, data=np.array([getattr(w, column) for w in feature_set.windows]))
            group.attrs.update(name=feature_set.name, fps=feature_set.fps, settings=json.dumps(feature_set.settings))
    return Path(path)


def read_features_hdf5(path: str | os.PathLike) -> dict[str, FeatureSet]:
    """`{group name: features}` of a file written by `write_features_hdf5`."""
    try:
        with h5py.File(path, "r") as handle:
            return {group_name: _feature_set_of(group) for group_name, group in handle.items()}
    except OSError as error:
        raise FeatureFileError(f"cannot read HDF5 features {path}: {error}") from None


def _feature_set_of(group: h5py.Group) -> FeatureSet:
    name, fps = str(group.attrs["name"]), float(group.attrs["fps"])
    columns = {column: group[column][()] for column in _WINDOW_COLUMNS}
    windows = [Window(name, index, int(first), int(last), int(first), int(last), float(start), float(end), int(padded))
               for index, (start, end, first, last, padded) in
               enumerate(zip(*(columns[c] for c in _WINDOW_COLUMNS)))]
    return FeatureSet(name, group["features"][()], windows, fps, json.loads(group.attrs["settings"]))
