"""Accuracy on the eight Middlebury pairs: the pipeline gives exactly what the raw OpenCV calls give.

Reference mean end-point errors (shared/data/README.md, OpenCV 5.0): Farneback 1.08, DIS medium
0.60, TV-L1 0.92, DeepFlow 0.30, DenseRLOF 0.39. TV-L1 takes ~3 s a pair at this size, so the test
runs it on one pair; `benchmarks/middlebury_epe.py` runs all eight.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.flow.computer import OpticalFlowComputer
from core.flow.accuracy import end_point_error, load_middlebury_pairs

RAW_CALLS = {
    "farneback": lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.1, 0),
    "dis": lambda a, b: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None),
    "tvl1": lambda a, b: cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None),
    "deepflow": lambda a, b: cv2.optflow.createOptFlow_DeepFlow().calc(a, b, None),
    "rlof": lambda a, b: cv2.optflow.DenseRLOFOpticalFlow_create().calc(
        cv2.cvtColor(a, cv2.COLOR_GRAY2BGR), cv2.cvtColor(b, cv2.COLOR_GRAY2BGR), None),
}
REFERENCE_EPE = {"farneback": 1.08, "dis": 0.60, "deepflow": 0.30, "rlof": 0.39}


@pytest.mark.parametrize("method", sorted(REFERENCE_EPE))
def test_pipeline_equals_raw_opencv_and_reference_epe(method, middlebury_dir):
    pairs = load_middlebury_pairs(middlebury_dir)
    assert len(pairs) == 8
    computer = OpticalFlowComputer(method, workers=1)
    errors = []
    for _, a, b, truth in pairs:
        ours = computer.compute(a, b)
        np.testing.assert_array_equal(ours, RAW_CALLS[method](a, b))
        errors.append(end_point_error(ours, truth))
    assert np.mean(errors) == pytest.approx(REFERENCE_EPE[method], abs=0.01)


def test_tvl1_pipeline_equals_raw_opencv(middlebury_dir):
    pairs = load_middlebury_pairs(middlebury_dir, {"Venus"})
    computer = OpticalFlowComputer("tvl1", workers=1)
    for _, a, b, truth in pairs:
        ours = computer.compute(a, b)
        np.testing.assert_array_equal(ours, RAW_CALLS["tvl1"](a, b))
        assert end_point_error(ours, truth) < 0.35


def test_tvl1_dis_is_opencvs_tvl1_refining_dis_flow_and_beats_it(middlebury_dir):
    pairs = load_middlebury_pairs(middlebury_dir, {"RubberWhale", "Venus"})
    computer = OpticalFlowComputer("tvl1_dis", workers=1)
    refine = cv2.optflow.DualTVL1OpticalFlow_create(nscales=1, warps=1, useInitialFlow=True)
    for _, a, b, truth in pairs:
        start = RAW_CALLS["dis"](a, b)
        ours = computer.compute(a, b)
        np.testing.assert_array_equal(ours, refine.calc(a, b, start.copy()))
        assert end_point_error(ours, truth) < end_point_error(start, truth)
