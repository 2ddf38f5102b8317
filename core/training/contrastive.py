"""A contrastive loss over motion labels: clips whose motions overlap more lie nearer in Features.

Each clip has a label vector `[L]` (nonnegative: its camera motion one-hot beside its object
motions, present or as shares). Within a batch, the overlap of two clips is the generalised Jaccard
index of their label vectors, sum(min) / sum(max): 1 for the same motions, 0 for none shared. For
each anchor clip, the softmax over the other clips of their cosine similarity divided by the
temperature is pulled towards the other clips' overlaps with it, normalised to sum to 1 (a
cross-entropy). With one-hot labels this is the supervised contrastive loss (Khosla et al., 2020,
L_out): every positive gets the same share. Anchors that share nothing with the rest of the batch
contribute 0. It asks of the features what the k-NN evaluation asks: the nearest clip shares the
motion, whatever the appearance.

`neighbour_preserving_loss` uses the same softmax with other targets: each anchor's softmax over the
other clips of their similarity in a reference descriptor (`reference_descriptors`: the trained
blocks' input, mean-pooled and centred), so the trained Features keep which clips the input put
near each other, where no label asks for it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from keras import ops

from core.errors import ConfigError
from core.features.similarity import unit_rows


def motion_label_vectors(camera_labels: np.ndarray, object_targets: np.ndarray, camera_classes: int) -> np.ndarray:
    """`[N, camera_classes + K] float32`: each clip's camera motion one-hot (`camera_labels` `[N]` int)
    beside its object targets (`[N, K]`, nonnegative)."""
    camera = np.eye(camera_classes, dtype=np.float32)[np.asarray(camera_labels)]
    return np.concatenate([camera, np.asarray(object_targets, np.float32)], axis=1)


def layout_label_columns(layouts: np.ndarray, weight: float) -> np.ndarray:
    """`[N, D] float32`: nonnegative layouts `[N, D]` (e.g. `core.training.flow_layout.strongest_regions`:
    how fast the fastest region moves each way), scaled so that the median clip's columns sum to
    `weight`. Beside the camera one-hot (summing to 1) in a label vector, the overlap of two clips then
    also counts how alike their motion relative to the camera is, by way and by speed; a clip where
    little moves against the camera adds little."""
    layouts = np.asarray(layouts, np.float32)
    if layouts.min() < 0:
        raise ConfigError("layout label columns must be nonnegative (rectified flow per direction)")
    typical = float(np.median(layouts.sum(axis=1)))
    return layouts * (weight / typical) if typical > 0 else layouts


def label_overlap(labels):
    """`[B, B]` generalised Jaccard index of the rows of `labels` `[B, L]` (nonnegative)."""
    pairs_min = ops.sum(ops.minimum(labels[:, None, :], labels[None, :, :]), axis=-1)
    pairs_max = ops.sum(ops.maximum(labels[:, None, :], labels[None, :, :]), axis=-1)
    return pairs_min / ops.maximum(pairs_max, 1e-12)


def reference_descriptors(activations: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """`[N, C] float32` unit rows: `activations` `[N, T, H, W, C]` mean-pooled over time and space,
    less their mean over the N clips (post-ReLU activations share one large positive direction)."""
    pooled = np.concatenate([np.asarray(activations[i:i + batch_size], np.float32).mean(axis=(1, 2, 3))
                             for i in range(0, len(activations), batch_size)])
    return unit_rows(pooled - pooled.mean(axis=0)).astype(np.float32)


def _neighbour_log_softmax(embeddings, temperature: float):
    """`[B, B]` each anchor's log-softmax over the other rows of cosine / temperature (the diagonal
    finite but far below the rest), and the `[B, B]` mask of the others."""
    others = 1.0 - ops.eye(ops.shape(embeddings)[0], dtype=embeddings.dtype)
    logits = ops.matmul(embeddings, ops.transpose(embeddings)) / temperature
    logits = ops.where(others > 0, logits, -1e9)  # an anchor is not its own neighbour
    return logits - ops.logsumexp(logits, axis=1, keepdims=True), others


def overlap_contrastive_loss(temperature: float = 0.1) -> Callable:
    """A Keras loss `(labels [B, L], unit embeddings [B, D]) -> [B]` (see module docstring)."""

    def loss(labels, embeddings):
        log_softmax, others = _neighbour_log_softmax(embeddings, temperature)
        overlap = label_overlap(ops.cast(labels, embeddings.dtype)) * others
        shares = overlap / ops.maximum(ops.sum(overlap, axis=1, keepdims=True), 1e-12)
        return -ops.sum(shares * log_softmax, axis=1)  # an anchor's own share is 0, its log-softmax finite

    loss.__name__ = f"overlap_contrastive_t{temperature:g}"
    return loss


def neighbour_preserving_loss(temperature: float = 0.1) -> Callable:
    """A Keras loss `(reference [B, C] unit rows, unit embeddings [B, D]) -> [B]`: the cross-entropy
    of each anchor's softmax over the other clips in the embeddings against the same softmax in the
    reference (see module docstring)."""

    def loss(reference, embeddings):
        log_softmax, _ = _neighbour_log_softmax(embeddings, temperature)
        reference_log_softmax, _ = _neighbour_log_softmax(ops.cast(reference, embeddings.dtype), temperature)
        return -ops.sum(ops.exp(reference_log_softmax) * log_softmax, axis=1)  # an anchor's own share is 0

    loss.__name__ = f"neighbour_preserving_t{temperature:g}"
    return loss
