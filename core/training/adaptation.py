"""Adapting an I3D flow stream to motion: AdaBN and training of the upper blocks.

- AdaBN (Li et al., "Revisiting Batch Normalization for Practical Domain Adaptation", 2016): every
  BatchNorm's moving mean and variance are re-estimated as the average over batches of flow clips,
  so statistics inherited from RGB (cross-modal initialisation) fit flow input.
- Upper-block training: the blocks after `boundary` (default: Mixed_5b, Mixed_5c) plus a linear
  classifier on `Features` are trained on labelled clips, with the lower blocks frozen and their
  activations computed once and cached (cheap enough for a CPU).
"""

from __future__ import annotations

from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from core.model.i3d import build_i3d, endpoint_model
from core.common.progress import ProgressCallback, no_progress


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


def shuffled_batches(inputs: np.ndarray, labels: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """(inputs, labels) in batches, in a new order every epoch drawn from `seed` alone (an operation
    seed: the same seed gives the same orders, and no global seed is touched)."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, np.asarray(labels)))
    return dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


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
    upper = build_i3d(channels=int(model.input.shape[-1]), final_endpoint="Features", start_after=boundary)
    for layer in upper.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    head = keras.layers.Dense(num_classes, activation="softmax", name="motion_classifier",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
    classifier = keras.Model(upper.input, head(keras.layers.Dropout(0.3, seed=seed)(upper.output)))
    classifier.compile(optimizer=keras.optimizers.Adam(learning_rate),
                       loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = classifier.fit(shuffled_batches(activations, labels, batch_size, seed), epochs=epochs, verbose=0,
                             shuffle=False,  # the dataset reshuffles itself every epoch
                             validation_data=validation, callbacks=list(callbacks))
    for layer in upper.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return {key: [float(v) for v in values] for key, values in history.history.items()}
