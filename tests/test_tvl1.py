"""TV-L1 in TensorFlow (`core.flow.tvl1`) against OpenCV's DualTVL1: the same flow on a known motion
and on Middlebury, the same result for a pair alone or in a batch, and through the flow pipeline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import PAN_VELOCITY
from core.flow.accuracy import end_point_error, load_middlebury_pairs
from core.flow.computer import OpticalFlowComputer
from core.flow.tvl1 import tvl1_flow
from core.video.synthetic import demo_frames, translating_frames


def grey(frames) -> list[np.ndarray]:
    return [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]


@pytest.fixture(scope="module")
def opencv_tvl1():
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return lambda a, b: tvl1.calc(a, b, None)


def test_a_known_pan_gives_opencvs_flow(opencv_tvl1):
    first, second = grey(translating_frames(2, PAN_VELOCITY, (96, 64)))
    ours, theirs = tvl1_flow(first, second), opencv_tvl1(first, second)
    assert ours.shape == (64, 96, 2) and ours.dtype == np.float32
    interior = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(ours[interior].mean(axis=(0, 1)), PAN_VELOCITY, atol=0.01)
    assert np.linalg.norm(ours - theirs, axis=-1).mean() < 0.03


def test_a_pair_in_a_batch_gets_the_flow_it_gets_alone():
    panned = grey(translating_frames(2, (1.5, 0.5), (80, 64), seed=3))
    moving = grey(demo_frames(2, size=(80, 64)))  # converges at another iteration than the pan
    batch = tvl1_flow(np.stack([panned[0], moving[0]]), np.stack([panned[1], moving[1]]))
    np.testing.assert_allclose(batch[0], tvl1_flow(*panned), atol=1e-4)
    np.testing.assert_allclose(batch[1], tvl1_flow(*moving), atol=1e-4)


def test_the_pipeline_computes_tvl1_tf_in_batches(opencv_tvl1):
    frames = grey(translating_frames(5, PAN_VELOCITY, (64, 48)))
    flows = OpticalFlowComputer("tvl1_tf", batch_size=3).compute_sequence(frames)
    assert flows.shape == (4, 48, 64, 2)
    np.testing.assert_allclose(flows[3], tvl1_flow(frames[3], frames[4]), atol=1e-4)


def test_middlebury_epe_agrees_with_opencv(middlebury_dir, opencv_tvl1):
    [(name, first, second, truth)] = load_middlebury_pairs(middlebury_dir, {"Venus"})
    ours, theirs = tvl1_flow(first, second), opencv_tvl1(first, second)
    assert end_point_error(ours, truth) <= 1.05 * end_point_error(theirs, truth)
    assert np.linalg.norm(ours - theirs, axis=-1).mean() < 0.05  # measured 0.025 px on Venus
