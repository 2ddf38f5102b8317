"""OpticalFlowComputer: every method recovers a known motion; parallel equals sequential."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PAN_VELOCITY
from core.errors import FlowShapeError, TooFewFramesError, UnknownFlowMethodError
from core.flow.computer import OpticalFlowComputer
from core.flow.methods import FLOW_METHODS
from core.video.synthetic import demo_frames, translating_frames

VELOCITY = (1.5, -0.75)


@pytest.fixture(scope="module")
def panning_frames():
    return list(translating_frames(5, VELOCITY, (96, 80)))


def test_registry_has_opencvs_five_methods_tvl1_from_dis_and_tvl1_in_tensorflow():
    assert set(FLOW_METHODS) == {"farneback", "dis", "tvl1", "deepflow", "rlof", "tvl1_dis", "tvl1_tf"}


@pytest.mark.parametrize("method", sorted(FLOW_METHODS))
def test_each_method_recovers_a_known_translation(method, panning_frames):
    flow = OpticalFlowComputer(method, workers=1).compute(panning_frames[0], panning_frames[1])
    assert flow.shape == (80, 96, 2) and flow.dtype == np.float32
    interior = flow[16:-16, 16:-16].reshape(-1, 2)
    np.testing.assert_allclose(np.median(interior, axis=0), VELOCITY, atol=0.1)


@pytest.mark.parametrize("method", ["farneback", "dis", "tvl1", "tvl1_dis", "rlof"])
def test_parallel_output_is_identical_to_sequential(method, panning_frames):
    sequential = OpticalFlowComputer(method, workers=1).compute_sequence(panning_frames)
    parallel = OpticalFlowComputer(method, workers=2).compute_sequence(panning_frames)
    assert sequential.shape == (4, 80, 96, 2)
    np.testing.assert_array_equal(parallel, sequential)


def test_tvl1_started_from_dis_lands_nearer_tvl1_than_dis_does():
    import cv2
    frames = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in demo_frames(6, size=(96, 80))]
    tvl1, started, dis = (OpticalFlowComputer(method, workers=1).compute_sequence(frames)
                          for method in ("tvl1", "tvl1_dis", "dis"))
    distance = {name: np.linalg.norm(flow - tvl1, axis=-1).mean() for name, flow in (("started", started), ("dis", dis))}
    assert distance["started"] < 0.2 and distance["started"] < 0.6 * distance["dis"]  # measured 0.13 and 0.26 px


def test_grey_and_colour_frames_are_both_accepted(panning_frames):
    import cv2
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in panning_frames[:2]]
    dis = OpticalFlowComputer("dis", workers=1)
    np.testing.assert_array_equal(dis.compute(*grey), dis.compute(*panning_frames[:2]))
    rlof = OpticalFlowComputer("rlof", workers=1)  # needs colour input; grey is converted
    assert rlof.compute(*grey).shape == (80, 96, 2)


def test_parameters_are_validated_and_typed():
    computer = OpticalFlowComputer("farneback", winsize="21", levels=4)
    assert computer.params["winsize"] == 21 and computer.params["poly_sigma"] == 1.1
    with pytest.raises(ValueError, match="unknown parameter.*valid"):
        OpticalFlowComputer("tvl1", lambda_typo=0.1)
    with pytest.raises(ValueError, match="must be int"):
        OpticalFlowComputer("farneback", levels="many")
    with pytest.raises(ValueError, match="preset"):
        OpticalFlowComputer("dis", preset="ludicrous")
    with pytest.raises(UnknownFlowMethodError, match="choose one of"):
        OpticalFlowComputer("raft")


def test_dis_preset_changes_the_algorithm(panning_frames):
    fast = OpticalFlowComputer("dis", preset="ultrafast").compute(*panning_frames[:2])
    medium = OpticalFlowComputer("dis", preset="medium").compute(*panning_frames[:2])
    assert not np.array_equal(fast, medium)


def test_bad_frames_raise_shape_errors(panning_frames):
    computer = OpticalFlowComputer("dis", workers=1)
    with pytest.raises(FlowShapeError, match="differ in size"):
        computer.compute(panning_frames[0], panning_frames[1][:40])
    with pytest.raises(FlowShapeError, match="uint8"):
        computer.compute(panning_frames[0].astype(np.float32), panning_frames[1].astype(np.float32))
    with pytest.raises(TooFewFramesError):
        computer.compute_sequence(panning_frames[:1])


def test_video_flow_in_i3d_convention_reports_progress(panning_video):
    calls = []
    flow = OpticalFlowComputer("dis").compute_video(panning_video, i3d=True,
                                                    progress=lambda d, t: calls.append((d, t)))
    assert flow.shape == (11, 224, 224, 2) and flow.dtype == np.float32
    assert calls[-1] == (11, 11) and [d for d, _ in calls] == list(range(1, 12))
    # The 96x64 pan is enlarged by 256/64 = 4 before cropping, so the flow is 4x the pan.
    interior = np.median(flow[:, 40:-40, 40:-40].reshape(-1, 2), axis=0)
    np.testing.assert_allclose(interior, np.multiply(PAN_VELOCITY, 4.0), atol=0.4)


def test_video_flow_native_size_matches_motion(panning_video):
    flow = OpticalFlowComputer("farneback").compute_video(panning_video)
    assert flow.shape == (11, 64, 96, 2)
    np.testing.assert_allclose(np.median(flow[:, 12:-12, 12:-12].reshape(-1, 2), axis=0),
                               PAN_VELOCITY, atol=0.15)


def test_resampling_before_flow_halves_pairs_and_doubles_motion(panning_video):
    flow = OpticalFlowComputer("dis").compute_video(panning_video, target_fps=12.5)
    assert len(flow) == 5
    np.testing.assert_allclose(np.median(flow[:, 12:-12, 12:-12].reshape(-1, 2), axis=0),
                               np.multiply(PAN_VELOCITY, 2.0), atol=0.3)
