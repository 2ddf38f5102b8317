"""The earlier default flow-stream weights, `motion_adapted`: made on this machine from generated
camera motion, by `python -m core weights motion-adapted` (set-up no longer makes them; the
benchmarks that compare them make them on first use).

Recipe: the direction-aware cross-modal initialisation (`cross_modal_kinetics_xy`,
`core.weights.flow_stream`), BatchNorm statistics re-estimated on flow clips (AdaBN), then Mixed_5b
and Mixed_5c trained on generated camera-motion clips with the lower blocks frozen. The weights and
their measured metrics are written where `core.weights.flow_stream` loads them from.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from core.common.atomic import write_json_atomic
from core.common.progress import ProgressCallback, no_progress, shifted
from core.evaluation.metrics import knn_loo_accuracy
from core.flow.computer import OpticalFlowComputer
from core.training.adaptation import (EpochProgress, adabn_on_clips, cache_activations, clip_features, counted,
                                      stack_preprocessed, train_upper_blocks)
from core.training.motion_dataset import MOTIONS, MotionClip, iter_clip_flows, sample_clips
from core.weights.flow_stream import build_flow_i3d, motion_adapted_metrics_path, motion_adapted_path
from core.weights.kinetics import WEIGHTS_DIR, cache_is_valid, save_weights_with_checksum

ADAPTATION_BOUNDARY = "MaxPool3d_5a_2x2"
ADAPTATION_EPOCHS = 12


def motion_splits(train_scenes: int = 12, eval_scenes: int = 8) -> tuple[list[MotionClip], list[MotionClip]]:
    """(train, eval) camera-motion clips: the 10 motions on `train_scenes` scenes, 2 clips each, and
    on `eval_scenes` other scenes (seeds from 1000), 1 clip each with fresh speeds."""
    return (sample_clips(MOTIONS, range(train_scenes), 2, seed=1),
            sample_clips(MOTIONS, range(1000, 1000 + eval_scenes), 1, seed=2))


def preprocessed_clips(clips: list[MotionClip], computer: OpticalFlowComputer,
                       progress: ProgressCallback = no_progress) -> np.ndarray:
    """Rendered, flowed and I3D-preprocessed clips `[N, 16, 224, 224, 2] float32` in [-1, 1]."""
    return stack_preprocessed(iter_clip_flows(clips, computer), len(clips), progress)


def motion_knn_scores(model: keras.Model, clips: np.ndarray, labels: np.ndarray,
                      progress: ProgressCallback = no_progress) -> dict[int, float]:
    """Leave-one-out k-NN accuracy (cosine, k = 1 and 5) of the model's Features on `clips`;
    progress counts clips."""
    features = clip_features(model, clips, progress=progress)
    return {k: knn_loo_accuracy(features, labels, k) for k in (1, 5)}


def adapt_to_motion(model: keras.Model, train: np.ndarray, labels: np.ndarray, epochs: int = ADAPTATION_EPOCHS,
                    progress: ProgressCallback = no_progress) -> dict[str, list[float]]:
    """AdaBN on up to 64 training clips, then train the blocks after ADAPTATION_BOUNDARY; in place.
    Progress counts clips cached, then epochs."""
    adabn_on_clips(model, train)
    total = len(train) + epochs
    activations = cache_activations(model, counted(train, progress, total), ADAPTATION_BOUNDARY)
    return train_upper_blocks(model, activations, labels, len(MOTIONS), boundary=ADAPTATION_BOUNDARY,
                              epochs=epochs, callbacks=[EpochProgress(progress, total, done=len(train))])


def prepare_motion_adapted(weights_dir: str | os.PathLike = WEIGHTS_DIR, force: bool = False,
                           progress: ProgressCallback = no_progress) -> Path:
    """Make the `motion_adapted` weights (see module docstring) and their metrics JSON.

    Trains on `motion_splits()`'s train clips and stores the leave-one-out k-NN score on its eval
    clips (scenes never trained on) beside the weights. Flow is DIS, 16 frames at 224x224. About
    9 minutes on 2 CPU cores; progress counts clips rendered, clips cached, epochs, then clips scored. Does
    nothing if a verified file exists and not `force`.
    """
    target = motion_adapted_path(weights_dir)
    if not force and cache_is_valid(target):
        return target
    computer = OpticalFlowComputer("dis")
    train_clips, eval_clips = motion_splits()
    total = 2 * len(train_clips) + 2 * len(eval_clips) + ADAPTATION_EPOCHS  # render, cache, train, score
    train = preprocessed_clips(train_clips, computer, shifted(progress, 0, total))
    evaluation = preprocessed_clips(eval_clips, computer, shifted(progress, len(train_clips), total))
    model = build_flow_i3d("cross_modal_kinetics_xy", weights_dir=weights_dir)
    history = adapt_to_motion(model, train, np.array([clip.label for clip in train_clips]),
                              progress=shifted(progress, len(train_clips) + len(eval_clips), total))
    scores = motion_knn_scores(model, evaluation, np.array([clip.label for clip in eval_clips]),
                               shifted(progress, total - len(eval_clips), total))
    save_weights_with_checksum(model, target)
    write_json_atomic(motion_adapted_metrics_path(weights_dir), {
        "recipe": "cross_modal_kinetics_xy -> AdaBN -> train Mixed_5b/Mixed_5c (+ linear head)",
        "flow_method": "dis", "train_clips": len(train), "eval_clips": len(evaluation),
        "eval_scenes_unseen": True, "eval_knn1_accuracy": scores[1], "eval_knn5_accuracy": scores[5],
        "final_train_accuracy": history["accuracy"][-1], "motions": list(MOTIONS)})
    return target
