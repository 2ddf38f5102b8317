"""Comparing videos: one projection of every window, window labels, and similar motion."""

from __future__ import annotations

import numpy as np

import pytest

from core.evaluation.compare import project, similar_windows, window_labels
from core.features.space import FeatureSpaceError, same_space
from core.features.store import FeatureSet
from core.features.sequences import make_windows


def feature_set(name: str, direction: list[float], top1: str | None = None, settings: dict | None = None) -> FeatureSet:
    features = np.array(direction, np.float32) + np.random.default_rng(len(name)).normal(0, 0.01, (3, 3))
    windows = make_windows(name, 32, 25.0, 16, 8)
    predictions = [[{"label": top1, "probability": 0.9}]] * len(windows) if top1 else None
    return FeatureSet(name, features.astype(np.float32), windows, 25.0, settings or {}, predictions)


def test_projection_labels_and_neighbours_follow_the_windows_order():
    sets = [feature_set("pan", [1, 0, 0], "skateboarding"), feature_set("zoom", [0, 1, 0]),
            feature_set("pan2", [0.9, 0.1, 0], "surfing water")]
    projection = project(sets)
    assert projection.coordinates.shape == (9, 2) and projection.videos[:3] == ["pan"] * 3
    assert window_labels(sets) == ["skateboarding"] * 3 + ["(no RGB stream)"] * 3 + ["surfing water"] * 3
    nearest = similar_windows(sets, "pan", 0, count=3)
    assert [m["video"] for m in nearest] == ["pan2"] * 3


def settings(window_mode: str = "exact", method: str = "dis", stride: int = 8) -> dict:
    return {"endpoint": "Features", "weights_sha256": "a" * 64, "sequence_length": 16, "stride": stride,
            "window_mode": window_mode, "precision": "float32", "flow": {"method": method, "params": {}}}


def test_features_of_different_window_modes_or_flow_are_not_compared():
    exact = feature_set("pan", [1, 0, 0], settings=settings())
    shared = feature_set("zoom", [0, 1, 0], settings=settings(window_mode="shared"))
    with pytest.raises(FeatureSpaceError, match=r"window_mode: \"exact\" for pan; \"shared\" for zoom"):
        project([exact, shared])
    tvl1 = feature_set("tilt", [0, 0, 1], settings=settings(method="tvl1"))
    with pytest.raises(FeatureSpaceError, match="flow method") as raised:
        similar_windows([exact, tvl1], "pan", 0)
    assert "window_mode" not in str(raised.value)
    assert not same_space(exact, shared) and same_space(exact, feature_set("pan2", [1, 0, 0], settings=settings()))


def test_stride_and_precision_do_not_split_the_feature_space_nor_do_unrecorded_settings():
    dense = feature_set("pan", [1, 0, 0], settings=settings(stride=2) | {"precision": "mixed_bfloat16"})
    unrecorded = feature_set("zoom", [0, 1, 0], settings={})
    assert project([feature_set("pan2", [1, 0, 0], settings=settings()), dense, unrecorded]).coordinates.shape == (9, 2)
