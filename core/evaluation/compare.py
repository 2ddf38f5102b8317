"""Comparing videos by their features: a joint 2D projection of all windows, and the windows of
other videos whose motion is most similar to a chosen window (cosine similarity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from core.errors import DFEError
from core.features.similarity import unit_rows
from core.features.space import require_one_space
from core.features.store import FeatureSet


class ComparisonError(DFEError, ValueError):
    """The chosen videos cannot be compared (none, features of different sizes, no such window)."""


@dataclass(frozen=True)
class Projection:
    """`coordinates` `[N, 2]` of all windows, with each window's video name, index and centre (ms)."""

    coordinates: np.ndarray
    videos: list[str]
    windows: list[int]
    centres_ms: list[float]


def _stack(feature_sets: Sequence[FeatureSet]) -> tuple[np.ndarray, list[str], list[int], list[float]]:
    if not feature_sets:
        raise ComparisonError("no videos with features to compare")
    require_one_space(feature_sets)
    dims = {f.features.reshape(len(f.features), -1).shape[1] for f in feature_sets}
    if len(dims) > 1:
        raise ComparisonError(f"the videos' features have different sizes {sorted(dims)}: extract them with the "
                         "same endpoint")
    features = np.concatenate([f.features.reshape(len(f.features), -1) for f in feature_sets])
    videos = [f.name for f in feature_sets for _ in f.windows]
    windows = [w.index for f in feature_sets for w in f.windows]
    centres = [(w.start_ms + w.end_ms) / 2 for f in feature_sets for w in f.windows]
    return features, videos, windows, centres


def project(feature_sets: Sequence[FeatureSet], method: str = "pca", seed: int = 0) -> Projection:
    """All windows of all videos in one 2D projection ("pca", or "tsne" for local structure)."""
    features, videos, windows, centres = _stack(feature_sets)
    unit = unit_rows(features)
    if method == "tsne" and len(unit) > 3:
        perplexity = max(2.0, min(30.0, (len(unit) - 1) / 3))
        coordinates = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(unit)
    elif method in ("pca", "tsne"):
        coordinates = np.zeros((len(unit), 2))
        components = min(2, len(unit), unit.shape[1])
        coordinates[:, :components] = PCA(components).fit_transform(unit) if len(unit) > 1 else 0
    else:
        raise ComparisonError(f"unknown projection {method!r}; use pca or tsne")
    return Projection(coordinates, videos, windows, centres)


def window_labels(feature_sets: Sequence[FeatureSet], missing: str = "(no RGB stream)") -> list[str]:
    """Each window's Kinetics top-1 label (from the RGB stream's predictions), in `project`'s order;
    `missing` for videos extracted without the RGB stream."""
    return [top5[0]["label"] if f.predictions else missing
            for f in feature_sets for top5 in (f.predictions or [None] * len(f.windows))]


def similar_windows(feature_sets: Sequence[FeatureSet], video: str, window: int, count: int = 5,
                    other_videos_only: bool = True) -> list[dict]:
    """The `count` windows most similar (cosine) to window `window` of `video`."""
    features, videos, windows, centres = _stack(feature_sets)
    matches = [i for i, (v, w) in enumerate(zip(videos, windows)) if v == video and w == window]
    if not matches:
        raise ComparisonError(f"no window {window} of {video!r}")
    unit = unit_rows(features)
    similarity = unit @ unit[matches[0]]
    order = [i for i in np.argsort(-similarity) if i != matches[0] and (not other_videos_only or videos[i] != video)]
    return [{"video": videos[i], "window": windows[i], "centre (ms)": round(centres[i]),
             "cosine similarity": round(float(similarity[i]), 4)} for i in order[:count]]
