"""Initial weights for the flow stream (2 input channels).

Sources (`WEIGHT_SOURCES`, chosen by `model.weights` in the config):
- `motion_curriculum` (default): shipped in the repository (`MOTION_CURRICULUM_PATH`, float16),
  made by `core.training.motion_curriculum`: trained on generated clips where the camera and
  objects move over real photographs, to tell apart both the camera's motion and objects' own
  motion. Its recipe and held-out measurements are in the JSON beside it.
- `checkpoint`: a file the user points to (`model.weights_path`): DeepMind's flow checkpoint
  (`Flow/inception_i3d/...`, TF1), or a pytorch-i3d / video_features state dict
  (`core.weights.checkpoint`).
- `motion_adapted` (the default before `motion_curriculum`; it sees camera motion only): made on
  this machine by `python -m core weights motion-adapted` (`core.training.motion_adapted`): the
  direction-aware cross-modal init below, BatchNorm statistics re-estimated on flow clips (AdaBN),
  then Mixed_5b and Mixed_5c trained on generated camera-motion clips with the lower blocks frozen.
  Measured by `benchmarks/flow_init.py` on scenes it was not trained on: see the JSON beside it.
- `cross_modal_kinetics`: cross-modality initialisation (Wang et al., "Temporal Segment Networks",
  ECCV 2016): every weight copied from the Kinetics-400 RGB I3D, except the first conv, whose kernel
  `[7, 7, 7, 3, 64]` is averaged over the RGB channels and repeated for the 2 flow channels.
- `cross_modal_kinetics_xy`: the same, but the dy channel gets the averaged kernel with its spatial
  axes swapped. With the plain repeat the first layer only sees dx + dy, so a pan right and a pan
  down look alike; with the swap, exchanging x and y in the input exchanges the two channels.
- `random`: Keras' default initialisation with a fixed seed (tests, baseline).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from core.common.paths import ASSETS_DIR
from core.model.i3d import build_i3d
from core.weights.checkpoint import load_checkpoint_arrays, num_classes
from core.weights.sources import WEIGHT_SOURCES
from core.weights.packed import load_packed_weights, read_packed_metadata
from core.weights.kinetics import WEIGHTS_DIR, WeightsError, assign_weights, cache_is_valid, kinetics400_rgb_model

FIRST_CONV = "Conv3d_1a_7x7_conv"
MOTION_ADAPTED_FILE = "i3d_flow_motion_adapted.weights.h5"
MOTION_CURRICULUM_PATH = ASSETS_DIR / "pretrained" / "i3d_flow_motion_curriculum.npz"


def cross_modal_arrays(rgb_model: keras.Model, channels: int = 2,
                       swap_xy: bool = False) -> dict[str, list[np.ndarray]]:
    """{layer name: weights} for a `channels`-input I3D from an RGB I3D (see module docstring)."""
    arrays = {layer.name: [np.asarray(w) for w in layer.get_weights()]
              for layer in rgb_model.layers if layer.weights}
    mean = arrays[FIRST_CONV][0].mean(axis=3, keepdims=True)  # [7, 7, 7, 1, 64]
    kernel = np.repeat(mean, channels, axis=3)
    if swap_xy:
        kernel[..., 1, :] = np.transpose(mean[..., 0, :], (0, 2, 1, 3))
    arrays[FIRST_CONV] = [kernel]
    return arrays


def redraw_kernels(model: keras.Model, seed: int) -> None:
    """Every kernel of `model` drawn again from Keras' default (Glorot uniform) by a generator of its
    own, seeded with `seed`: the same seed gives the same weights, and no global seed is touched."""
    initializer = keras.initializers.GlorotUniform(seed=keras.random.SeedGenerator(seed))
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            kernel.assign(initializer(kernel.shape, kernel.dtype))


def motion_adapted_path(weights_dir: str | os.PathLike = WEIGHTS_DIR) -> Path:
    return Path(weights_dir) / MOTION_ADAPTED_FILE


def build_flow_i3d(weights: str = "motion_curriculum", seed: int = 0, channels: int = 2,
                   size: int | None = 224, dtype: str | None = None,
                   weights_dir: str | os.PathLike = WEIGHTS_DIR,
                   weights_path: str | os.PathLike | None = None) -> keras.Model:
    """The flow-stream I3D (up to Logits, any T) with the chosen initial weights."""
    if weights not in WEIGHT_SOURCES:
        raise WeightsError(f"unknown flow weights {weights!r}; use one of {WEIGHT_SOURCES}")
    if weights == "checkpoint":
        if weights_path is None:
            raise WeightsError("weights 'checkpoint' needs weights_path, the checkpoint file")
        arrays = load_checkpoint_arrays(weights_path, channels)
        model = build_i3d(channels=channels, num_classes=num_classes(arrays), size=size, dtype=dtype)
        assign_weights(model, arrays)
        return model
    model = build_i3d(channels=channels, size=size, dtype=dtype)
    if weights == "random":
        redraw_kernels(model, seed)
    elif weights.startswith("cross_modal"):
        assign_weights(model, cross_modal_arrays(kinetics400_rgb_model(), channels,
                                                 swap_xy=weights.endswith("_xy")))
    elif weights == "motion_curriculum":
        load_packed_weights(model, MOTION_CURRICULUM_PATH)
    elif weights == "motion_adapted":
        path = motion_adapted_path(weights_dir)
        if not cache_is_valid(path):
            raise WeightsError(f"the motion-adapted flow weights are missing or corrupt ({path}); run "
                               "`python -m core weights motion-adapted` (6 to 10 min on 2 cores)")
        model.load_weights(path)
    return model


def motion_adapted_metrics_path(weights_dir: str | os.PathLike = WEIGHTS_DIR) -> Path:
    """The JSON beside the motion-adapted weights: their recipe and measured metrics."""
    return motion_adapted_path(weights_dir).with_suffix("").with_suffix(".json")


def read_motion_adapted_metrics(weights_dir: str | os.PathLike = WEIGHTS_DIR) -> dict:
    """The metrics JSON written beside the motion-adapted weights ({} if absent)."""
    path = motion_adapted_metrics_path(weights_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def read_weights_metrics(weights: str) -> dict:
    """How the weights source `weights` was made and what it measured, with one key per score
    (`eval_object_knn1_accuracy`, ...); {} for sources that are not trained here."""
    if weights == "motion_adapted":
        return read_motion_adapted_metrics()
    if weights != "motion_curriculum":
        return {}
    metadata = read_packed_metadata(MOTION_CURRICULUM_PATH)
    scores = metadata.pop("eval_knn1_accuracy", {})
    return {**metadata, **{f"eval_{family}_knn1_accuracy": score for family, score in scores.items()}}
