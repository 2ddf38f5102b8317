"""Summaries of a flow sequence for plots: magnitude over time and the distribution of directions."""

from __future__ import annotations

import numpy as np


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
