"""Windows over stored flow: stride, tail coverage, padding rule, time base, I3D preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidFlowValuesError, SequenceError
from core.flow.pipeline import FlowJob, compute_video_flow
from core.features.sequences import (OpticalFlowSequenceLoader, cut_window, make_windows, preprocess_flow,
                            resize_flow, window_starts)


def test_window_starts_cover_every_frame():
    assert window_starts(32, 16, 8) == [0, 8, 16]
    assert window_starts(30, 16, 8) == [0, 8, 14]  # an end-aligned window covers the tail
    assert window_starts(16, 16, 4) == [0]
    assert window_starts(12, 16, 8) == [0]


def test_windows_carry_frames_and_milliseconds():
    windows = make_windows("clip", 40, fps=25.0, sequence_length=16, stride=8)
    first = windows[0]
    assert (first.first_frame, first.last_frame) == (0, 16)
    assert (first.start_ms, first.end_ms) == (0.0, 640.0)
    assert windows[1].start_ms == 320.0
    assert windows[-1].stop == 40 and windows[-1].end_ms == 1600.0


def test_short_sequences_are_padded_by_repeating_the_last_frame():
    flow = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 2), np.float32)
    (window,) = make_windows("short", 10, 25.0, 16, 8)
    assert window.padded == 6 and window.stop == 10
    frames = cut_window(flow, window)
    assert frames.shape == (16, 2, 2, 2)
    assert (frames[9:] == 9).all()


def test_sequences_below_the_i3d_minimum_are_refused():
    with pytest.raises(SequenceError, match="minimum window of 9"):
        make_windows("tiny", 8, 25.0, 16, 8)
    with pytest.raises(SequenceError, match="minimum of 9"):
        OpticalFlowSequenceLoader("unused", sequence_length=8)


def test_preprocess_truncates_rescales_and_crops():
    flow = np.zeros((2, 224, 224, 2), np.float32)
    flow[0, 0, 0] = [30.0, -10.0]
    out = preprocess_flow(flow)
    assert out.shape == (2, 224, 224, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, 0], [1.0, -0.5])


def test_preprocess_resizes_other_sizes_and_scales_vectors():
    flow = np.tile(np.float32([2.0, 1.0]), (1, 128, 160, 1))  # short side 128 -> 256: x2
    out = preprocess_flow(flow)
    assert out.shape == (1, 224, 224, 2)
    np.testing.assert_allclose(out[0, 100, 100], [4.0 / 20, 2.0 / 20], rtol=1e-5)
    resized = resize_flow(flow, (80, 64))
    np.testing.assert_allclose(resized[0, 10, 10], [1.0, 0.5], rtol=1e-5)


def test_preprocess_refuses_nan():
    flow = np.zeros((2, 224, 224, 2), np.float32)
    flow[1, 5, 5, 1] = np.nan
    with pytest.raises(InvalidFlowValuesError):
        preprocess_flow(flow)


@pytest.fixture(scope="module")
def stored_flow(demo_video, tmp_path_factory):
    folder = tmp_path_factory.mktemp("flow")
    compute_video_flow(demo_video, folder, FlowJob(method="dis"))
    return folder


def test_loader_reads_stored_flow_with_its_fps(stored_flow):
    loader = OpticalFlowSequenceLoader(stored_flow, sequence_length=9, stride=5)
    assert loader.list_flow_files() == ["demo"]
    windows = loader.windows("demo.npy")
    assert [(w.start, w.stop) for w in windows] == [(0, 9), (5, 14), (10, 19)]
    assert windows[1].start_ms == pytest.approx(200.0)  # 5 frames at 25 fps
    batch = loader.create_sequence_batch(["demo"], batch_size=2)
    assert batch.shape == (2, 9, 224, 224, 2) and batch.dtype == np.float32
    assert np.abs(batch).max() <= 1.0


def test_batches_walk_every_window_in_order(stored_flow):
    loader = OpticalFlowSequenceLoader(stored_flow, sequence_length=9, stride=5)
    batches = list(loader.iter_batches(["demo", str(stored_flow / "demo.npy")], batch_size=4))
    assert [len(b.windows) for b in batches] == [4, 2]
    flat = [w for b in batches for w in b.windows]
    direct = [seq for seq, _ in loader.iter_sequences(["demo"])]
    np.testing.assert_array_equal(batches[0].flow[1], direct[1])
    assert [w.index for w in flat] == [0, 1, 2, 0, 1, 2]


def test_bare_npy_without_record_uses_default_fps(tmp_path):
    np.save(tmp_path / "bare.npy", np.zeros((12, 224, 224, 2), np.float32))
    np.save(tmp_path / "not_flow.npy", np.zeros((3, 4)))
    loader = OpticalFlowSequenceLoader(tmp_path, sequence_length=10, default_fps=30.0)
    assert loader.list_flow_files() == ["bare"]
    assert loader.windows("bare")[-1].end_ms == pytest.approx(400.0)
