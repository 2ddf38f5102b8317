"""Flow pictures: the Middlebury colour coding, the quiver overlay, and the plots of magnitude and direction."""

from __future__ import annotations

import numpy as np

from core.viz.flow_images import color_wheel_legend, flow_to_color, quiver_overlay
from core.viz.flow_plots import direction_figure, frame_time_ms, magnitude_figure


def uniform(dx: float, dy: float) -> np.ndarray:
    return np.tile(np.float32([dx, dy]), (8, 8, 1))


def test_colour_coding_follows_middlebury_wheel():
    assert flow_to_color(uniform(0, 0))[0, 0].tolist() == [255, 255, 255]  # no motion: white
    right = flow_to_color(uniform(1, 0))[0, 0]
    assert right[0] == 255 and right[1] < 30 and right[2] < 30  # rightwards: red
    left = flow_to_color(uniform(-1, 0))[0, 0]
    assert left[0] < 30 and left[2] > 200  # leftwards: cyan/blue
    up, down = flow_to_color(uniform(0, -1))[0, 0], flow_to_color(uniform(0, 1))[0, 0]
    assert not np.array_equal(up, down)


def test_saturation_grows_with_magnitude():
    flow = np.zeros((1, 3, 2), np.float32)
    flow[0, :, 0] = [1, 2, 4]
    image = flow_to_color(flow, max_magnitude=4).astype(int)
    whiteness = image[0].sum(axis=1)
    assert whiteness[0] > whiteness[1] > whiteness[2]


def test_unknown_flow_is_black_and_legend_is_round():
    flow = uniform(1, 1)
    flow[0, 0] = np.nan
    assert flow_to_color(flow)[0, 0].tolist() == [0, 0, 0]
    legend = color_wheel_legend(51)
    assert legend.shape == (51, 51, 3) and legend[0, 0].tolist() == [255, 255, 255]


def test_quiver_draws_arrows_only_where_there_is_motion():
    frame = np.zeros((64, 64), np.uint8)
    flow = np.zeros((64, 64, 2), np.float32)
    flow[:32, :, 0] = 3.0
    drawn = quiver_overlay(frame, flow, step=16, scale=2)
    assert drawn.shape == (64, 64, 3)
    assert drawn[:32].any() and not drawn[40:].any()


def test_magnitude_figure_plots_each_frames_mean_speed_over_its_time():
    flow = np.stack([uniform(3, 4), uniform(0, 1), uniform(0, 0)])  # speeds 5, 1, 0 pixels per frame
    trace = magnitude_figure(flow, fps=25.0).data[0]
    assert list(trace.x) == [0.0, 40.0, 80.0]
    assert np.allclose(trace.y, [5.0, 1.0, 0.0])
    assert frame_time_ms(10, 50.0) == 200.0


def test_direction_figure_puts_motion_in_its_direction_clockwise_from_right():
    down = np.stack([uniform(0, 2)] * 4)
    bars = direction_figure(down).data[0]
    shares = dict(zip(bars.theta, bars.r))
    assert max(shares, key=shares.get) == 97.5  # the 90-105 degree bin: downwards on the screen
    assert np.isclose(sum(shares.values()), 1.0)
    assert direction_figure(down).layout.polar.angularaxis.direction == "clockwise"
    still = direction_figure(np.zeros((2, 8, 8, 2), np.float32)).data[0]
    assert not np.any(still.r)  # nothing moves: no direction has a share
