"""Comparing videos: one projection of every window, window labels, and similar motion."""

from __future__ import annotations

import numpy as np

from core.evaluation.compare import project, similar_windows, window_labels
from core.features.store import FeatureSet
from core.features.sequences import make_windows


def feature_set(name: str, direction: list[float], top1: str | None = None) -> FeatureSet:
    features = np.array(direction, np.float32) + np.random.default_rng(len(name)).normal(0, 0.01, (3, 3))
    windows = make_windows(name, 32, 25.0, 16, 8)
    predictions = [[{"label": top1, "probability": 0.9}]] * len(windows) if top1 else None
    return FeatureSet(name, features.astype(np.float32), windows, 25.0, {}, predictions)


def test_projection_labels_and_neighbours_follow_the_windows_order():
    sets = [feature_set("pan", [1, 0, 0], "skateboarding"), feature_set("zoom", [0, 1, 0]),
            feature_set("pan2", [0.9, 0.1, 0], "surfing water")]
    projection = project(sets)
    assert projection.coordinates.shape == (9, 2) and projection.videos[:3] == ["pan"] * 3
    assert window_labels(sets) == ["skateboarding"] * 3 + ["(no RGB stream)"] * 3 + ["surfing water"] * 3
    nearest = similar_windows(sets, "pan", 0, count=3)
    assert [m["video"] for m in nearest] == ["pan2"] * 3
