"""Cosine similarity of per-window features: rows scaled to unit length (scikit-learn's `normalize`)."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import normalize


def unit_rows(features: np.ndarray) -> np.ndarray:
    """`[N, ...]` features as `[N, D] float64` rows of length 1 (a row of zeros stays zeros)."""
    return normalize(np.asarray(features, np.float64).reshape(len(features), -1))


def cosine_similarity_matrix(features: np.ndarray) -> np.ndarray:
    """`[N, N]` cosine similarity between the rows of `[N, ...]` features."""
    unit = unit_rows(features)
    return unit @ unit.T
