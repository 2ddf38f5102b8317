"""Summaries of a flow sequence for plots: magnitude over time and the distribution of directions,
and the interactive plotly figures of both."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def mean_magnitude(flow: np.ndarray) -> np.ndarray:
    """`[T]` mean flow magnitude (pixels per frame) of each frame of `[T, H, W, 2]` flow."""
    return np.array([float(np.hypot(f[..., 0], f[..., 1]).mean()) for f in flow])


def direction_histogram(flow: np.ndarray, bins: int = 24, min_magnitude: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres in degrees, share of moving pixels per bin) of the flow directions, weighted by
    magnitude; 0 degrees = rightwards, 90 = downwards (image coordinates). Pixels slower than
    `min_magnitude` pixels per frame are ignored."""
    step = max(1, len(flow) // 64)
    sample = np.asarray(flow[::step], np.float32)
    magnitude = np.hypot(sample[..., 0], sample[..., 1])
    moving = magnitude >= min_magnitude
    angles = np.degrees(np.arctan2(sample[..., 1], sample[..., 0]))[moving] % 360
    counts, edges = np.histogram(angles, bins=bins, range=(0, 360), weights=magnitude[moving])
    total = counts.sum()
    return (edges[:-1] + edges[1:]) / 2, counts / total if total else counts


def frame_time_ms(index: int | np.ndarray, fps: float) -> float | np.ndarray:
    """When frame `index` (or each of `[N]` indices) starts, in ms from the start of the video."""
    return 1000 * index / fps


def magnitude_figure(flow: np.ndarray, fps: float) -> go.Figure:
    """Line plot of the mean magnitude (pixels per frame) of each frame of `[T, H, W, 2]` flow over
    its time in ms (frame t starts at 1000 t / `fps`)."""
    times = frame_time_ms(np.arange(len(flow)), fps)
    figure = go.Figure(go.Scatter(x=times, y=mean_magnitude(flow), mode="lines"))
    figure.update_layout(title="Mean flow magnitude over time", xaxis_title="time (ms)",
                         yaxis_title="pixels per frame", height=300, margin={"t": 40})
    return figure


def direction_figure(flow: np.ndarray) -> go.Figure:
    """Polar bar chart of the directions of `[T, H, W, 2]` flow (`direction_histogram`), drawn
    clockwise from 0 degrees = right so that 90 degrees = down, as on the screen."""
    centres, shares = direction_histogram(flow)
    figure = go.Figure(go.Barpolar(theta=centres, r=shares, marker_color="#4c78a8"))
    figure.update_layout(title="Directions of motion (weighted by speed; 0° = right, 90° = down)",
                         height=320, margin={"t": 50},
                         polar={"angularaxis": {"direction": "clockwise", "rotation": 0},
                                "radialaxis": {"showticklabels": False}})
    return figure
