"""Optical-flow accuracy against ground truth: end-point error and the Middlebury training pairs.

Middlebury (Baker et al., IJCV 2011): one folder per sequence with `frame10.png`, `frame11.png` and
the ground truth `flow10.flo` (unknown values read as NaN).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from core.flow.formats import read_flo


def end_point_error(flow: np.ndarray, truth: np.ndarray) -> float:
    """Mean Euclidean distance in pixels between `[H, W, 2]` flows where `truth` is known (not NaN)."""
    known = np.isfinite(truth).all(axis=-1)
    return float(np.linalg.norm(flow - truth, axis=-1)[known].mean())


def load_middlebury_pairs(root: str | os.PathLike,
                          names: set[str] | None = None) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, frame10, frame11, truth) per sequence folder under `root` (all, or those in `names`):
    grey `[H, W] uint8` frames and `[H, W, 2] float32` flow in pixels, NaN where unknown."""
    folders = sorted(f for f in Path(root).iterdir() if (f / "flow10.flo").is_file()
                     and (names is None or f.name in names))
    return [(f.name, cv2.imread(str(f / "frame10.png"), cv2.IMREAD_GRAYSCALE),
             cv2.imread(str(f / "frame11.png"), cv2.IMREAD_GRAYSCALE), read_flo(f / "flow10.flo"))
            for f in folders]
