"""Real photographs for generated motion: the natural images of Debian's `opencv-doc` package.

`opencv-doc` puts about 85 usable photographs under `/usr/share/doc/opencv-doc/examples/data`
(set-up installs it). They are split into a train and a test set by scene, not by file: stereo pairs
and series of one scene (`left01`/`right01`, `aloeL`/`aloeR`, `graf1`/`graf3`) share a scene key, so
a scene never sits on both sides.
"""

from __future__ import annotations

import os
import re
import zlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from core.errors import DFEError

OPENCV_DOC_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
MIN_SIDE = 240  # smaller images (logos, templates) are too small to be a background
TEST_SHARE = 4  # one scene key in TEST_SHARE (by checksum) goes to the test set


class PhotographsMissingError(DFEError):
    """No photographs where they were looked for (opencv-doc not installed)."""


def scene_key(path: Path) -> str:
    """The scene a photograph shows, from its name: digits, left/right and a trailing L/R/A/B or
    _original/_modified dropped (`right07.jpg` and `left01.jpg` -> "stereo", `aloeL.jpg` -> "aloe")."""
    stem = re.sub(r"(_original|_modified|_cls|_motion|_defocus)$", "", path.stem)
    stem = re.sub(r"[LRAB]$", "", re.sub(r"\d+$", "", stem))
    return "stereo" if stem.lower() in ("left", "right") else stem.lower()


def is_test_scene(path: Path) -> bool:
    return zlib.crc32(scene_key(path).encode()) % TEST_SHARE == 0


@lru_cache(maxsize=4)
def _photograph_paths(folder: str) -> tuple[Path, ...]:
    paths = []
    for path in sorted(Path(folder).glob("*")):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        image = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_2)
        if image is not None and 2 * min(image.shape[:2]) >= MIN_SIDE and image.std() > 20:
            paths.append(path)
    return tuple(paths)


def photograph_paths(split: str, folder: str | os.PathLike = OPENCV_DOC_DATA) -> list[Path]:
    """The photographs of `split` ("train", "test" or "all"), sorted by name.

    Raises PhotographsMissingError if the folder holds none (install Debian's opencv-doc).
    """
    paths = _photograph_paths(str(folder))
    if not paths:
        raise PhotographsMissingError(f"no photographs in {folder}: install Debian's opencv-doc "
                                      "(apt-get install opencv-doc; set-up does it)")
    if split == "all":
        return list(paths)
    return [p for p in paths if is_test_scene(p) == (split == "test")]


@lru_cache(maxsize=256)
def load_photograph(path: Path, short_side: int) -> np.ndarray:
    """The photograph `[H, W, 3] uint8` RGB, resized so its shorter side is `short_side`."""
    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    scale = short_side / min(image.shape[:2])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
