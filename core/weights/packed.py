"""Weights small enough to ship in the repository: every layer's arrays in float16, in one `.npz`.

The file maps `"<layer name>/<index>"` to the layer's `index`-th weight; a JSON beside it (same name,
`.json`) records the recipe, the measurements and the file's sha256, which is checked on load.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from core.common.atomic import atomic_path, sha256_of, write_json_atomic
from core.weights.kinetics import WeightsError, assign_weights


def packed_metadata_path(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


def save_packed_weights(model: keras.Model, path: str | os.PathLike, metadata: dict) -> Path:
    """`model`'s weights as float16 to `path` (atomically), and `metadata` + the sha256 beside it."""
    path = Path(path)
    arrays = {f"{layer.name}/{index}": np.asarray(weight, np.float16)
              for layer in model.layers for index, weight in enumerate(layer.get_weights())}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    write_json_atomic(packed_metadata_path(path), {**metadata, "sha256": sha256_of(path)})
    return path


def read_packed_metadata(path: str | os.PathLike) -> dict:
    """The JSON beside a packed weights file ({} if absent)."""
    meta = packed_metadata_path(path)
    return json.loads(meta.read_text()) if meta.is_file() else {}


def load_packed_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """Set `model`'s weights from a packed file, after checking its sha256.

    Raises WeightsError if the file is missing, corrupt, or does not fit the model.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing")
    if read_packed_metadata(path).get("sha256") != sha256_of(path):
        raise WeightsError(f"weights file {path} does not match the sha256 recorded beside it")
    try:
        with np.load(path) as data:
            arrays: dict[str, list[np.ndarray]] = {}
            for key in sorted(data.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
                arrays.setdefault(key.rsplit("/", 1)[0], []).append(data[key].astype(np.float32))
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise WeightsError(f"weights file {path} cannot be read: {error}") from error
    assign_weights(model, arrays)
