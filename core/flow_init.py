"""Initial weights for the flow stream (2 input channels).

Sources (`WEIGHT_SOURCES`, chosen by `model.weights` in the config):
- `checkpoint`: a file the user points to (`model.weights_path`): DeepMind's flow checkpoint
  (`Flow/inception_i3d/...`, TF1), or a pytorch-i3d / video_features state dict
  (`core.checkpoint_import`).
- `motion_adapted` (default): made by set-up on this machine (`prepare_motion_adapted`): the
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

from core.atomic import write_json_atomic
from core.checkpoint_import import load_checkpoint_arrays, num_classes
from core.config import WEIGHT_SOURCES
from core.flow import OpticalFlowComputer
from core.flow_adaptation import adapt_batchnorm, cache_activations, train_upper_blocks
from core.i3d import build_i3d, endpoint_model
from core.metrics import knn_loo_accuracy
from core.motion_dataset import MOTIONS, MotionClip, iter_clip_flows, sample_clips
from core.progress import ProgressCallback, no_progress
from core.sequences import preprocess_flow
from core.weights import (WEIGHTS_DIR, WeightsError, assign_weights, cache_is_valid, kinetics400_rgb_model,
                          save_weights_with_checksum)

FIRST_CONV = "Conv3d_1a_7x7_conv"
MOTION_ADAPTED_FILE = "i3d_flow_motion_adapted.weights.h5"
ADAPTATION_BOUNDARY = "MaxPool3d_5a_2x2"


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


def motion_adapted_path(weights_dir: str | os.PathLike = WEIGHTS_DIR) -> Path:
    return Path(weights_dir) / MOTION_ADAPTED_FILE


def build_flow_i3d(weights: str = "motion_adapted", seed: int = 0, channels: int = 2,
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
    if weights == "random":
        keras.utils.set_random_seed(seed)
    model = build_i3d(channels=channels, size=size, dtype=dtype)
    if weights.startswith("cross_modal"):
        assign_weights(model, cross_modal_arrays(kinetics400_rgb_model(), channels,
                                                 swap_xy=weights.endswith("_xy")))
    elif weights == "motion_adapted":
        path = motion_adapted_path(weights_dir)
        if not cache_is_valid(path):
            raise WeightsError(f"the motion-adapted flow weights are missing or corrupt ({path}); run "
                               "`python -m core weights prepare` (set-up does it)")
        model.load_weights(path)
    return model


def motion_splits(train_scenes: int = 12, eval_scenes: int = 8) -> tuple[list[MotionClip], list[MotionClip]]:
    """(train, eval) camera-motion clips: the 10 motions on `train_scenes` scenes, 2 clips each, and
    on `eval_scenes` other scenes (seeds from 1000), 1 clip each with fresh speeds."""
    return (sample_clips(MOTIONS, range(train_scenes), 2, seed=1),
            sample_clips(MOTIONS, range(1000, 1000 + eval_scenes), 1, seed=2))


def preprocessed_clips(clips: list[MotionClip], computer: OpticalFlowComputer,
                       progress: ProgressCallback = no_progress) -> np.ndarray:
    """Rendered, flowed and I3D-preprocessed clips `[N, 16, 224, 224, 2] float32` in [-1, 1]."""
    out = []
    for index, flow in enumerate(iter_clip_flows(clips, computer), start=1):
        out.append(preprocess_flow(flow))
        progress(index, len(clips))
    return np.stack(out)


def motion_knn_scores(model: keras.Model, clips: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """Leave-one-out k-NN accuracy (cosine, k = 1 and 5) of the model's Features on `clips`."""
    head = endpoint_model(model, "Features")
    features = np.concatenate([np.asarray(head(clips[i:i + 4], training=False))
                               for i in range(0, len(clips), 4)])
    return {k: knn_loo_accuracy(features, labels, k) for k in (1, 5)}


def adabn_on_clips(model: keras.Model, clips: np.ndarray, count: int = 64, batch_size: int = 4) -> int:
    """AdaBN on `count` clips drawn in a fixed shuffled order, in batches; returns the batches used."""
    order = np.random.default_rng(0).permutation(len(clips))[:count]
    return adapt_batchnorm(model, (clips[order[i:i + batch_size]] for i in range(0, len(order), batch_size)))


def adapt_to_motion(model: keras.Model, train: np.ndarray, labels: np.ndarray,
                    epochs: int = 12) -> dict[str, list[float]]:
    """AdaBN on up to 64 training clips, then train the blocks after ADAPTATION_BOUNDARY; in place."""
    adabn_on_clips(model, train)
    return train_upper_blocks(model, cache_activations(model, train, ADAPTATION_BOUNDARY), labels,
                              len(MOTIONS), boundary=ADAPTATION_BOUNDARY, epochs=epochs)


def prepare_motion_adapted(weights_dir: str | os.PathLike = WEIGHTS_DIR, force: bool = False,
                           progress: ProgressCallback = no_progress) -> Path:
    """Make the `motion_adapted` weights (see module docstring) and their metrics JSON.

    Trains on `motion_splits()`'s train clips and stores the leave-one-out k-NN score on its eval
    clips (scenes never trained on) beside the weights. Flow is DIS, 16 frames at 224x224. About
    2.5 minutes on 2 CPU cores. Does nothing if a verified file exists and not `force`.
    """
    target = motion_adapted_path(weights_dir)
    if not force and cache_is_valid(target):
        return target
    computer = OpticalFlowComputer("dis")
    train_clips, eval_clips = motion_splits()
    train = preprocessed_clips(train_clips, computer, progress)
    evaluation = preprocessed_clips(eval_clips, computer)
    keras.utils.set_random_seed(0)
    model = build_flow_i3d("cross_modal_kinetics_xy", weights_dir=weights_dir)
    history = adapt_to_motion(model, train, np.array([clip.label for clip in train_clips]))
    scores = motion_knn_scores(model, evaluation, np.array([clip.label for clip in eval_clips]))
    save_weights_with_checksum(model, target)
    write_json_atomic(target.with_suffix("").with_suffix(".json"), {
        "recipe": "cross_modal_kinetics_xy -> AdaBN -> train Mixed_5b/Mixed_5c (+ linear head)",
        "flow_method": "dis", "train_clips": len(train), "eval_clips": len(evaluation),
        "eval_scenes_unseen": True, "eval_knn1_accuracy": scores[1], "eval_knn5_accuracy": scores[5],
        "final_train_accuracy": history["accuracy"][-1], "motions": list(MOTIONS)})
    return target


def read_motion_adapted_metrics(weights_dir: str | os.PathLike = WEIGHTS_DIR) -> dict:
    """The metrics JSON written beside the motion-adapted weights ({} if absent)."""
    path = motion_adapted_path(weights_dir).with_suffix("").with_suffix(".json")
    return json.loads(path.read_text()) if path.exists() else {}
