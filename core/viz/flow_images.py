"""Pictures of optical flow as numpy images: the Middlebury colour coding and a quiver overlay.

Colour coding (Baker et al., "A Database and Evaluation Methodology for Optical Flow", IJCV 2011):
hue gives the direction, saturation the magnitude relative to `max_magnitude`; zero flow is white.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.errors import FlowShapeError
from core.flow.formats import check_flow


def _color_wheel() -> np.ndarray:
    """The 55 Middlebury wheel colours, `[55, 3] float` RGB in [0, 255]."""
    segments = ((15, (255, 0, 0), (255, 255, 0)),   # red -> yellow
                (6, (255, 255, 0), (0, 255, 0)),    # yellow -> green
                (4, (0, 255, 0), (0, 255, 255)),    # green -> cyan
                (11, (0, 255, 255), (0, 0, 255)),   # cyan -> blue
                (13, (0, 0, 255), (255, 0, 255)),   # blue -> magenta
                (6, (255, 0, 255), (255, 0, 0)))    # magenta -> red
    colors = [np.array(start) + (np.array(end) - np.array(start)) * step / count
              for count, start, end in segments for step in range(count)]
    return np.array(colors, dtype=np.float64)


_WHEEL = _color_wheel()


def flow_to_color(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code `[H, W, 2]` flow (pixels) as `[H, W, 3] uint8` RGB.

    Args:
        max_magnitude: the magnitude drawn fully saturated; None uses this field's maximum, so pass
            a fixed value to compare several frames. NaN (unknown) flow is drawn black.
    """
    flow = check_flow(flow, ndim=3, allow_nan=True)
    unknown = ~np.isfinite(flow).all(axis=-1)
    dx, dy = np.nan_to_num(flow[..., 0]), np.nan_to_num(flow[..., 1])
    magnitude = np.hypot(dx, dy)
    scale = max_magnitude if max_magnitude else max(float(magnitude.max()), 1e-6)
    radius = magnitude / scale
    angle = np.arctan2(-dy, -dx) / np.pi  # in [-1, 1]
    position = (angle + 1) / 2 * (len(_WHEEL) - 1)
    low = np.floor(position).astype(int)
    high = (low + 1) % len(_WHEEL)
    weight = (position - low)[..., None]
    color = (1 - weight) * _WHEEL[low] / 255 + weight * _WHEEL[high] / 255
    inside = (radius <= 1)[..., None]
    saturated = 1 - radius[..., None] * (1 - color)
    color = np.where(inside, saturated, color * 0.75)
    image = np.round(255 * color).astype(np.uint8)
    image[unknown] = 0
    return image


def color_wheel_legend(size: int = 101) -> np.ndarray:
    """The colour key: `[size, size, 3] uint8` RGB, the flow at each pixel pointing away from the
    centre with magnitude 1 at the rim."""
    coords = np.linspace(-1, 1, size, dtype=np.float32)
    dx, dy = np.meshgrid(coords, coords)
    legend = flow_to_color(np.stack([dx, dy], axis=-1), max_magnitude=1.0)
    legend[np.hypot(dx, dy) > 1] = 255
    return legend


def quiver_overlay(frame: np.ndarray, flow: np.ndarray, step: int = 16, scale: float = 3.0,
                   color: tuple[int, int, int] = (255, 255, 0), min_magnitude: float = 0.25) -> np.ndarray:
    """Draw flow arrows (outlined in black, readable on any texture) on a copy of `frame` every
    `step` pixels.

    Args:
        frame: `[H, W]` or `[H, W, 3] uint8` (treated as RGB) of the same size as the flow.
        flow: `[H, W, 2]` pixels.
        scale: arrow length per pixel of flow.
        min_magnitude: arrows shorter than this (pixels of flow) are skipped.
    Returns `[H, W, 3] uint8` RGB.
    """
    flow = np.nan_to_num(check_flow(flow, ndim=3, allow_nan=True))
    if frame.shape[:2] != flow.shape[:2]:
        raise FlowShapeError(f"frame {frame.shape[:2]} and flow {flow.shape[:2]} differ in size")
    canvas = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else frame.copy()
    height, width = flow.shape[:2]
    for y in range(step // 2, height, step):
        for x in range(step // 2, width, step):
            dx, dy = flow[y, x]
            if np.hypot(dx, dy) < min_magnitude:
                continue
            tip = (int(round(x + scale * dx)), int(round(y + scale * dy)))
            cv2.arrowedLine(canvas, (x, y), tip, (0, 0, 0), 3, cv2.LINE_AA, tipLength=0.3)  # outline
            cv2.arrowedLine(canvas, (x, y), tip, color, 1, cv2.LINE_AA, tipLength=0.3)
    return canvas
