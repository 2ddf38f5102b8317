"""`model.window_mode: shared`: overlapping windows pooled from one I3D pass over chunks of the stream."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from core.errors import ConfigError
from core.features.config import ExtractorConfig, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.features.sequences import make_windows, preprocess_flow
from core.features.shared_windows import SharedWindows, plan_chunks


def spans(windows) -> list[tuple[int, int]]:
    return [(window.start, window.stop) for window in windows]


def test_chunks_of_each_phase_follow_each_other_overlapping_by_8_frames():
    windows = make_windows("clip", 100, 25.0, 16, 4)  # starts 0, 4, ..., 84: phases 0 and 4
    chunks, alone = plan_chunks(windows, chunk_frames=32)
    assert spans(chunks) == [(0, 32), (24, 56), (48, 80), (72, 96), (4, 36), (28, 60), (52, 84), (76, 100)]
    assert alone == []


def test_the_last_window_off_the_grid_gets_a_chunk_of_its_own():
    windows = make_windows("clip", 59, 25.0, 16, 8)  # starts 0, 8, ..., 40 and the last 16 frames: 43
    chunks, _ = plan_chunks(windows)
    assert spans(chunks) == [(0, 56), (43, 59)]


def test_a_padded_window_is_computed_alone():
    windows = make_windows("clip", 12, 25.0, 16, 8)
    assert plan_chunks(windows) == ([], windows)


@pytest.fixture(scope="module")
def extractors():
    model = ModelSection(weights="random", stride=4)
    exact = DynamicFeatureExtractor(config=ExtractorConfig(model=model, inference=InferenceSection(precision="float32")))
    shared = DynamicFeatureExtractor(config=ExtractorConfig(model=ModelSection(weights="random", stride=4,
                                                                               window_mode="shared")),
                                     model=exact.model)
    return exact, shared


@pytest.fixture(scope="module")
def flow():
    return np.random.default_rng(5).normal(0, 3, (29, 224, 224, 2)).astype(np.float32)  # stride 4: windows 0, 4, 8, 12 and 13


def test_chunks_of_one_window_give_exactly_the_windows_own_features(extractors, flow):
    """A 16-frame chunk is one window seen alone: every row, both phases and the last window, must be
    the exact feature of its own window."""
    exact, shared = extractors
    windows = make_windows("clip", len(flow), 25.0, 16, 4)
    one_per_chunk = SharedWindows(windows, partial(preprocess_flow, crop_size=224), shared._shared_features,
                                  shared.extract_features, chunk_frames=16)
    for frame in flow:
        one_per_chunk.push(frame)
    np.testing.assert_allclose(one_per_chunk.features(), exact.extract_flow(flow, 25.0).features,
                               rtol=1e-4, atol=1e-5)


def test_shared_features_follow_their_windows_and_record_the_mode(extractors, flow):
    """Default chunks: the windows are those of the exact mode, the last one (off the 8-frame grid, its
    own chunk) gets its exact features, the others differ from theirs (they see their neighbours)."""
    exact, shared = extractors
    alone, pooled = exact.extract_flow(flow, 25.0), shared.extract_flow(flow, 25.0)
    assert pooled.windows == alone.windows and pooled.features.shape == alone.features.shape
    np.testing.assert_allclose(pooled.features[-1], alone.features[-1], rtol=1e-4, atol=1e-5)
    assert not np.allclose(pooled.features[0], alone.features[0], rtol=1e-3, atol=1e-4)
    assert pooled.settings["window_mode"] == "shared" and alone.settings["window_mode"] == "exact"


@pytest.mark.parametrize("model", [ModelSection(window_mode="shared", endpoint="Mixed_4f"),
                                   ModelSection(window_mode="shared", sequence_length=32),
                                   ModelSection(window_mode="pooled")])
def test_shared_mode_needs_features_of_16_frame_windows(model):
    with pytest.raises(ConfigError, match="model.window_mode"):
        ExtractorConfig(model=model)
