"""Metrics of feature quality (scikit-learn does the maths)."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier


def knn_loo_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Leave-one-out k-nearest-neighbour accuracy with cosine distance.

    Args:
        features: `[N, D]`, one row per clip.
        labels: `[N]` integer classes.
    Each clip is classified by its k nearest *other* clips (majority vote); returns the fraction right.
    """
    features = np.asarray(features, np.float64)
    labels = np.asarray(labels)
    if len(features) != len(labels) or len(features) <= k:
        raise ValueError(f"need more than k={k} clips with one label each, got {len(features)} "
                         f"features and {len(labels)} labels")
    model = KNeighborsClassifier(n_neighbors=k + 1, metric="cosine").fit(features, labels)
    neighbours = model.kneighbors(features, return_distance=False)
    predictions = []
    for row, own in enumerate(neighbours):
        others = [i for i in own if i != row][:k]
        values, counts = np.unique(labels[others], return_counts=True)
        predictions.append(values[np.argmax(counts)])
    return float(np.mean(np.array(predictions) == labels))
