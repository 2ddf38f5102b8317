"""Where and which way a flow clip moves, coarsely: the target of the motion heads' layout head.

The flow is cut into `periods` equal time spans and a `grid` x `grid` array of regions; each cell
keeps the mean of its rightward, leftward, downward and upward flow (half-wave rectified, so
motions that cancel in a plain mean, such as people walking both ways, both stay visible).
`camera_relative` takes the camera's motion out first, so the layout holds what moves in the scene.
`strongest_regions` pools the regions away (how fast the fastest region moves each way), for heads
on features that are themselves pooled over the frame.
"""

from __future__ import annotations

import numpy as np

from core.errors import ConfigError

DIRECTIONS = ("right", "left", "down", "up")
LAYOUT_POOLINGS = ("none", "max")  # a layout head's target: every region's flow, or `strongest_regions`


def flow_layout(flow: np.ndarray, grid: int, periods: int = 1) -> np.ndarray:
    """`flow` `[T, H, W, 2]` (x, y) → `[periods * grid * grid * 4] float32`, in `flow`'s units:
    per time span, region row, region column, the mean flow in each of `DIRECTIONS`."""
    frames, height, width, _ = flow.shape
    if frames % periods or height % grid or width % grid:
        raise ConfigError(f"a [{frames}, {height}, {width}] flow does not split into {periods} time spans "
                          f"and a {grid}x{grid} grid evenly")
    rectified = np.stack([np.maximum(flow[..., 0], 0), np.maximum(-flow[..., 0], 0),
                          np.maximum(flow[..., 1], 0), np.maximum(-flow[..., 1], 0)], axis=-1)
    cells = rectified.reshape(periods, frames // periods, grid, height // grid, grid, width // grid, 4)
    return cells.mean(axis=(1, 3, 5), dtype=np.float64).astype(np.float32).ravel()


def strongest_regions(layouts: np.ndarray, grid: int, periods: int = 1) -> np.ndarray:
    """`flow_layout`s `[N, periods * grid * grid * 4]` → `[N, periods * 4]`: per time span and
    direction, the largest mean flow of any region (which region it is, is pooled away)."""
    cells = np.asarray(layouts).reshape(len(layouts), periods, grid * grid, len(DIRECTIONS))
    return cells.max(axis=2).reshape(len(layouts), periods * len(DIRECTIONS))


def camera_relative(flow: np.ndarray) -> np.ndarray:
    """`flow` `[T, H, W, 2]` minus each frame's median flow `[T, 1, 1, 2]`: the camera's motion where
    the background fills most of the frame (a pan's flow becomes zero, an object's its own motion)."""
    return flow - np.median(flow, axis=(1, 2), keepdims=True)
