import numpy as np
import pytest

from core.errors import ConfigError
from core.training.flow_layout import camera_relative, flow_layout


def _flow() -> np.ndarray:
    """`[2, 4, 4, 2]`: frame 0 moves right by 2 on the left half and up by 1 in the lower-right
    quadrant; frame 1 moves left by 4 at the top-left pixel only."""
    flow = np.zeros((2, 4, 4, 2), np.float32)
    flow[0, :, :2, 0] = 2.0
    flow[0, 2:, 2:, 1] = -1.0
    flow[1, 0, 0, 0] = -4.0
    return flow


def test_each_region_keeps_the_mean_of_each_direction_apart():
    # cells row by row, each (right, left, down, up); a cell averages 2 frames x 4 pixels
    np.testing.assert_allclose(flow_layout(_flow(), grid=2), [1.0, 0.5, 0, 0,  0, 0, 0, 0,
                                                              1.0, 0, 0, 0,  0, 0, 0, 0.5])


def test_time_spans_come_first_and_opposite_motions_do_not_cancel():
    # one region of 16 pixels per frame: frame 0 right 8*2/16 and up 4/16; frame 1 left 4/16
    np.testing.assert_allclose(flow_layout(_flow(), grid=1, periods=2), [1.0, 0, 0, 0.25,  0, 0.25, 0, 0])
    both_ways = np.zeros((1, 2, 2, 2), np.float32)
    both_ways[0, :, 0, 0], both_ways[0, :, 1, 0] = 3.0, -3.0
    np.testing.assert_allclose(flow_layout(both_ways, grid=1), [1.5, 1.5, 0, 0])


def test_a_flow_that_does_not_split_evenly_is_refused():
    with pytest.raises(ConfigError, match="does not split into 3 time spans and a 2x2 grid"):
        flow_layout(_flow(), grid=2, periods=3)


def test_camera_relative_flow_keeps_only_what_moves_against_the_background():
    """A pan of 3 px right everywhere; a 2x2 object (4 of 16 pixels, so not the median) moves 2 px
    left and 1 down in the frame: against the background it moves 5 left and 1 down."""
    flow = np.zeros((1, 4, 4, 2), np.float32)
    flow[..., 0] = 3.0
    flow[0, :2, :2] = (-2.0, 1.0)
    relative = camera_relative(flow)
    expected = np.zeros_like(flow)
    expected[0, :2, :2] = (-5.0, 1.0)
    np.testing.assert_array_equal(relative, expected)
    # the layout then sees the object alone: top-left region 5 left and 1 down per pixel
    np.testing.assert_allclose(flow_layout(relative, grid=2), [0, 5, 1, 0] + [0] * 12)
