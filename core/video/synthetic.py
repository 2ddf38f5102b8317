"""Synthetic clips with known motion: textures moved by a camera and by objects.

Used for the demo video, for tests (flow of a known translation) and benchmarks. Every function is
deterministic for a given seed. Frames are `[H, W, 3] uint8` RGB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from core.video.writer import write_video


def make_texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A colourful multi-scale noise texture, `[height, width, 3] uint8` RGB.

    Sums blurred noise at several scales so that both coarse and fine structure exist, which gives
    every flow method something to track.
    """
    rng = np.random.default_rng(seed)
    field = np.zeros((height, width), np.float32)
    for sigma, weight in ((1.0, 0.35), (4.0, 0.35), (16.0, 0.3)):
        noise = rng.standard_normal((height, width)).astype(np.float32)
        blurred = cv2.GaussianBlur(noise, (0, 0), sigma)
        field += weight * blurred / (blurred.std() + 1e-6)
    field = cv2.normalize(field, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(field, cv2.COLORMAP_TWILIGHT_SHIFTED), cv2.COLOR_BGR2RGB)


def translate(image: np.ndarray, dx: float, dy: float, size: tuple[int, int]) -> np.ndarray:
    """View of `image` moved by (dx, dy) pixels (sub-pixel, bilinear), cropped to `size` = (w, h).

    Content at (x, y) in the source appears at (x + dx, y + dy): the optical flow from the
    untranslated view to this one is (dx, dy) everywhere.
    """
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT101)


def translating_frames(num_frames: int, velocity: tuple[float, float], size: tuple[int, int] = (160, 128),
                       seed: int = 0) -> Iterator[np.ndarray]:
    """A texture panning at constant `velocity` = (dx, dy) pixels per frame; `size` = (w, h).

    The true flow between consecutive frames is `velocity` everywhere (away from the borders).
    """
    width, height = size
    margin = int(np.ceil(np.abs(velocity).max() * num_frames)) + 8
    texture = make_texture(height + 2 * margin, width + 2 * margin, seed)
    for t in range(num_frames):
        dx, dy = velocity[0] * t - margin, velocity[1] * t - margin
        yield translate(texture, dx, dy, (width, height))


@dataclass(frozen=True)
class DemoMotion:
    """The known motion in the demo clip (pixels per frame, degrees per frame)."""

    camera_pan: tuple[float, float] = (1.5, 0.0)
    square_velocity: tuple[float, float] = (-3.0, 1.0)
    disc_rotation_deg: float = 4.0


def demo_frames(num_frames: int = 75, size: tuple[int, int] = (320, 240), seed: int = 7,
                motion: DemoMotion = DemoMotion()) -> Iterator[np.ndarray]:
    """The demo clip: a camera panning over a texture, a textured square translating across it and
    a textured disc rotating in place. `[h, w, 3] uint8` RGB frames, `size` = (w, h)."""
    width, height = size
    margin = int(abs(motion.camera_pan[0]) * num_frames + abs(motion.camera_pan[1]) * num_frames) + 8
    background = make_texture(height + 2 * margin, width + 2 * margin, seed)
    square_side = height // 4
    square = make_texture(square_side, square_side, seed + 1)
    disc_radius = height // 6
    disc = make_texture(2 * disc_radius, 2 * disc_radius, seed + 2)
    disc_mask = np.zeros((2 * disc_radius, 2 * disc_radius), np.uint8)
    cv2.circle(disc_mask, (disc_radius, disc_radius), disc_radius - 1, 255, -1)
    disc_centre = (3 * width // 4, height // 3)
    for t in range(num_frames):
        frame = translate(background, motion.camera_pan[0] * t - margin,
                          motion.camera_pan[1] * t - margin, (width, height))
        sx = int(width * 0.6 + motion.square_velocity[0] * t) % (width - square_side)
        sy = int(height * 0.5 + motion.square_velocity[1] * t) % (height - square_side)
        frame[sy:sy + square_side, sx:sx + square_side] = square
        rotation = cv2.getRotationMatrix2D((disc_radius, disc_radius), motion.disc_rotation_deg * t, 1.0)
        rotated = cv2.warpAffine(disc, rotation, disc.shape[1::-1], borderMode=cv2.BORDER_REFLECT101)
        top, left = disc_centre[1] - disc_radius, disc_centre[0] - disc_radius
        region = frame[top:top + 2 * disc_radius, left:left + 2 * disc_radius]
        region[disc_mask > 0] = rotated[disc_mask > 0]
        yield frame


def make_demo_video(path: str | os.PathLike, num_frames: int = 75, fps: float = 25.0,
                    size: tuple[int, int] = (320, 240), seed: int = 7) -> Path:
    """Write the demo clip (see `demo_frames`) to `path`; H.264 for .mp4. Returns the path."""
    return write_video(path, demo_frames(num_frames, size, seed), fps)
