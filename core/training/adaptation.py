"""Adapting an I3D flow stream to motion: AdaBN and training of the upper blocks.

- AdaBN (Li et al., "Revisiting Batch Normalization for Practical Domain Adaptation", 2016): every
  BatchNorm's moving mean and variance are re-estimated as the average over batches of flow clips,
  so statistics inherited from RGB (cross-modal initialisation) fit flow input.
- Upper-block training: the blocks after `boundary` (default: Mixed_5b, Mixed_5c) plus a linear
  classifier on `Features` are trained on labelled clips, with the lower blocks frozen and their
  activations computed once and cached (cheap enough for a CPU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf
from sklearn.preprocessing import StandardScaler

from core.features.sequences import preprocess_flow
from core.model.i3d import build_i3d, endpoint_model
from core.training.contrastive import (motion_label_vectors, neighbour_preserving_loss, overlap_contrastive_loss,
                                      reference_descriptors)
from core.weights.flow_stream import redraw_kernels
from core.common.progress import ProgressCallback, no_progress

ADABN_CLIPS = 64  # clips AdaBN re-estimates the statistics on, unless told otherwise


class EpochProgress(keras.callbacks.Callback):
    """Reports `progress(done + epochs finished, total)` after each epoch of `fit`."""

    def __init__(self, progress: ProgressCallback, total: int, done: int = 0):
        super().__init__()
        self.progress, self.total, self.done = progress, total, done

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.progress(self.done + epoch + 1, self.total)


def counted(items: Iterable, progress: ProgressCallback, total: int, done: int = 0) -> Iterator:
    """`items`, reporting `progress(done + items passed, total)` after each."""
    for index, item in enumerate(items, start=done + 1):
        yield item
        progress(index, total)


def adapt_batchnorm(model: keras.Model, clip_batches: Iterable[np.ndarray],
                    progress: ProgressCallback = no_progress) -> int:
    """AdaBN on `model` in place from batches `[B, T, H, W, C]` of preprocessed clips.

    Returns the number of batches used. The moving statistics become the mean over batches of each
    batch's statistics (momentum k / (k + 1) at batch k).
    """
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    count = 0
    try:
        for count, batch in enumerate(clip_batches, start=1):
            for layer in norms:
                layer.momentum = (count - 1) / count
            model(np.asarray(batch, np.float32), training=True)
            progress(count, None)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return count


def adabn_on_clips(model: keras.Model, clips: np.ndarray, count: int = ADABN_CLIPS, batch_size: int = 4,
                   shuffled: bool = True) -> int:
    """AdaBN on `count` of `clips` `[N, ...]` in batches: drawn in a fixed shuffled order, or the
    first `count` in order if not `shuffled`. Returns the batches used."""
    order = np.random.default_rng(0).permutation(len(clips))[:count] if shuffled else np.arange(min(count, len(clips)))
    return adapt_batchnorm(model, (clips[order[i:i + batch_size]] for i in range(0, len(order), batch_size)))


def stack_preprocessed(flows: Iterable[np.ndarray], total: int,
                       progress: ProgressCallback = no_progress) -> np.ndarray:
    """Pixel flows `[T, H, W, 2]` I3D-preprocessed and stacked: `[N, T, 224, 224, 2] float32` in [-1, 1]."""
    out = []
    for index, flow in enumerate(flows, start=1):
        out.append(preprocess_flow(flow))
        progress(index, total)
    return np.stack(out)


def clip_features(model: keras.Model, clips: np.ndarray, batch_size: int = 4,
                  progress: ProgressCallback = no_progress) -> np.ndarray:
    """The model's Features `[N, 1024]` for preprocessed clips `[N, T, H, W, C]`; progress counts clips."""
    head = endpoint_model(model, "Features")
    features = []
    for start in range(0, len(clips), batch_size):
        features.append(np.asarray(head(clips[start:start + batch_size], training=False)))
        progress(min(start + batch_size, len(clips)), len(clips))
    return np.concatenate(features)


def cache_activations(model: keras.Model, clips: Iterable[np.ndarray], boundary: str,
                      batch_size: int = 4) -> np.ndarray:
    """The `boundary` endpoint's output for every preprocessed clip `[T, H, W, C]`, stacked."""
    lower = endpoint_model(model, boundary)
    outputs, batch = [], []
    for clip in clips:
        batch.append(clip)
        if len(batch) == batch_size:
            outputs.append(np.asarray(lower(np.stack(batch), training=False)))
            batch = []
    if batch:
        outputs.append(np.asarray(lower(np.stack(batch), training=False)))
    return np.concatenate(outputs)


def shuffled_batches(inputs: np.ndarray, labels: np.ndarray | dict[str, np.ndarray], batch_size: int,
                     seed: int) -> tf.data.Dataset:
    """(inputs, labels) in batches, in a new order every epoch drawn from `seed` alone (an operation
    seed: the same seed gives the same orders, and no global seed is touched). `labels` may be a
    dict of arrays, one per output. Only the clips' indices are shuffled and each batch of `inputs`
    is gathered as it is drawn, so the dataset holds no copy of them (the orders are those of
    shuffling the clips themselves)."""
    labels = tf.nest.map_structure(tf.constant, labels if isinstance(labels, dict) else np.asarray(labels))

    def batch(indices: tf.Tensor):
        gathered = tf.numpy_function(lambda rows: inputs[rows], [indices], tf.as_dtype(inputs.dtype), stateful=False)
        gathered.set_shape((None, *inputs.shape[1:]))
        return gathered, tf.nest.map_structure(lambda values: tf.gather(values, indices), labels)

    order = tf.data.Dataset.range(len(inputs)).shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    return order.batch(batch_size).map(batch)


def stages_between(model: keras.Model, start_after: str, final_endpoint: str) -> keras.Model:
    """A copy of `model`'s stages after `start_after` up to `final_endpoint`, with `model`'s weights:
    it maps `start_after`'s output to `final_endpoint`'s."""
    stages = build_i3d(channels=int(model.input.shape[-1]), final_endpoint=final_endpoint, start_after=start_after)
    for layer in stages.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return stages


def activations_between(model: keras.Model, activations: np.ndarray, start_after: str, final_endpoint: str,
                        batch_size: int = 16) -> np.ndarray:
    """`final_endpoint`'s outputs made from `start_after`'s `activations` `[N, ...]` by `model`'s stages
    in between (the same array if the two are one endpoint)."""
    if start_after == final_endpoint:
        return activations
    between = stages_between(model, start_after, final_endpoint)
    return np.concatenate([np.asarray(between(activations[i:i + batch_size], training=False))
                           for i in range(0, len(activations), batch_size)])


def _upper_blocks(model: keras.Model, boundary: str) -> keras.Model:
    """A copy of `model`'s stages after `boundary` up to Features, with `model`'s weights."""
    return stages_between(model, boundary, "Features")


def redraw_upper_blocks(model: keras.Model, boundary: str, activations: np.ndarray, seed: int,
                        adabn_clips: int = ADABN_CLIPS, batch_size: int = 4) -> None:
    """The stages of `model` after `boundary` drawn again as a random initialisation's (Glorot kernels
    from `seed`, BatchNorm at Keras' defaults), then their BatchNorm statistics re-estimated (AdaBN)
    on the first `adabn_clips` of `boundary`'s `activations` `[N, ...]`; in place."""
    upper = build_i3d(channels=int(model.input.shape[-1]), final_endpoint="Features", start_after=boundary)
    redraw_kernels(upper, seed)
    adabn_on_clips(upper, activations, count=adabn_clips, batch_size=batch_size, shuffled=False)
    _copy_back(upper, model)


def _copy_back(upper: keras.Model, model: keras.Model) -> None:
    for layer in upper.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())


def _history(history: keras.callbacks.History) -> dict[str, list[float]]:
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def train_upper_blocks(model: keras.Model, activations: np.ndarray, labels: np.ndarray, num_classes: int,
                       boundary: str = "MaxPool3d_5a_2x2", epochs: int = 12, batch_size: int = 16,
                       learning_rate: float = 1e-3, seed: int = 0,
                       validation: tuple[np.ndarray, np.ndarray] | None = None,
                       callbacks: list[keras.callbacks.Callback] = ()) -> dict[str, list[float]]:
    """Train the stages after `boundary` (+ a softmax classifier on Features) on cached activations,
    then copy the trained weights back into `model` by layer name. Returns the training history.

    `validation` = (activations, labels) is evaluated after each epoch (`val_loss`, `val_accuracy`
    in the history); `callbacks` (early stopping, checkpoints, progress) go to `fit`.
    """
    upper = _upper_blocks(model, boundary)
    head = keras.layers.Dense(num_classes, activation="softmax", name="motion_classifier",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
    classifier = keras.Model(upper.input, head(keras.layers.Dropout(0.3, seed=seed)(upper.output)))
    classifier.compile(optimizer=keras.optimizers.Adam(learning_rate),
                       loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = classifier.fit(shuffled_batches(activations, labels, batch_size, seed), epochs=epochs, verbose=0,
                             shuffle=False,  # the dataset reshuffles itself every epoch
                             validation_data=validation, callbacks=list(callbacks))
    _copy_back(upper, model)
    return _history(history)


@dataclass(frozen=True)
class MotionLosses:
    """The losses `train_motion_heads` adds to its camera loss (weighted 1), each with its weight:

    - `object_weight`: the `objects` head's binary cross-entropy.
    - `regressions`: {head name: (targets `[N, D]`, loss weight)}, one linear head each (e.g. the
      layout, `core.training.flow_layout`, or the motion's parameters,
      `core.training.curriculum.motion_parameters`), mean squared error on targets standardised per
      column.
    - `contrastive_weight` > 0: `core.training.contrastive`'s loss on the unit-length Features
      (`embedding`) over each clip's camera and object labels, with the nonnegative label columns
      `contrastive_extra` `[N, E]` beside them if given; with a `contrastive_projection` of D > 0, on a
      projection of the Features instead (Dense(D, relu), Dense(D), as SimCLR's), so the Features need
      not collapse each motion to a point.
    - `neighbour_weight` > 0: the neighbour-preserving loss against the `reference_descriptors` of the
      training activations (`neighbours`).
    """

    object_weight: float = 1.0
    regressions: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    contrastive_weight: float = 0.0
    contrastive_projection: int = 0
    contrastive_extra: np.ndarray | None = None
    neighbour_weight: float = 0.0


def train_motion_heads(model: keras.Model, activations: np.ndarray, camera_labels: np.ndarray,
                       object_labels: np.ndarray, boundary: str = "MaxPool3d_5a_2x2", epochs: int = 12,
                       batch_size: int = 16, learning_rate: float = 1e-3, seed: int = 0,
                       losses: MotionLosses = MotionLosses(),
                       callbacks: list[keras.callbacks.Callback] = ()) -> dict[str, list[float]]:
    """Multi-task training of the stages after `boundary` on cached activations: heads on Features,
    `camera` (softmax over camera motions, integer `camera_labels` `[N]`), `objects` (sigmoid,
    `object_labels` `[N, K]` in [0, 1]: which object motions the clip shows, multi-hot or as shares)
    and the heads and losses `losses` adds (`MotionLosses`). The trained stages are copied back into
    `model`; returns the history (`camera_accuracy`, ...)."""
    upper = _upper_blocks(model, boundary)
    features = keras.layers.Dropout(0.3, seed=seed)(upper.output)
    init = keras.initializers.GlorotUniform(seed=seed)
    camera_classes = int(camera_labels.max()) + 1
    outputs = {"camera": keras.layers.Dense(camera_classes, activation="softmax", name="camera",
                                            kernel_initializer=init)(features),
               "objects": keras.layers.Dense(object_labels.shape[1], activation="sigmoid", name="objects",
                                             kernel_initializer=init)(features)}
    loss_functions = {"camera": "sparse_categorical_crossentropy", "objects": "binary_crossentropy"}
    weights = {"camera": 1.0, "objects": losses.object_weight}
    targets = {"camera": np.asarray(camera_labels), "objects": np.asarray(object_labels, np.float32)}
    for name, (values, weight) in losses.regressions.items():
        outputs[name] = keras.layers.Dense(values.shape[1], name=name, kernel_initializer=init)(features)
        loss_functions[name], weights[name] = "mean_squared_error", weight
        targets[name] = StandardScaler().fit_transform(np.asarray(values, np.float32))
    if losses.contrastive_weight:
        embedded = upper.output
        if losses.contrastive_projection:
            width = losses.contrastive_projection
            hidden = keras.layers.Dense(width, activation="relu", kernel_initializer=init)(embedded)
            embedded = keras.layers.Dense(width, kernel_initializer=init)(hidden)
        outputs["embedding"] = keras.layers.UnitNormalization(name="embedding")(embedded)
        loss_functions["embedding"], weights["embedding"] = overlap_contrastive_loss(), losses.contrastive_weight
        targets["embedding"] = motion_label_vectors(camera_labels, object_labels, camera_classes)
        if losses.contrastive_extra is not None:
            targets["embedding"] = np.concatenate([targets["embedding"], losses.contrastive_extra], axis=1)
    if losses.neighbour_weight:
        outputs["neighbours"] = keras.layers.UnitNormalization(name="neighbours")(upper.output)
        loss_functions["neighbours"], weights["neighbours"] = neighbour_preserving_loss(), losses.neighbour_weight
        targets["neighbours"] = reference_descriptors(activations)
    trainer = keras.Model(upper.input, outputs)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss_functions, loss_weights=weights,
                    metrics={"camera": ["accuracy"], "objects": [keras.metrics.BinaryAccuracy(name="accuracy")]})
    history = trainer.fit(shuffled_batches(activations, targets, batch_size, seed), epochs=epochs, verbose=0,
                          shuffle=False, callbacks=list(callbacks))
    _copy_back(upper, model)
    return _history(history)
