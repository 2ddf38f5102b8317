"""A labelled camera-motion dataset: textured scenes moved by known camera motions, with flow
computed by the real pipeline.

Classes (`MOTIONS`): pans in 4 directions, zoom in/out, rotation cw/ccw, shake, static. Each clip is
described by a `MotionClip` (scene seed, motion, speed, random seed) and rendered on demand, so a
dataset of hundreds of clips never has to sit in memory. Speeds are drawn per clip from ranges
(pixels, degrees or scale per frame), so two clips of a class differ in speed as well as scene.

Scenes: a multi-scale noise texture with a random colour map, overlaid with random shapes (edges and
corners), or any image the caller provides (a frame of a video, a photo).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from core.features.folders import DatasetError
from core.flow.computer import OpticalFlowComputer
from core.video.writer import write_video

MOTIONS = ("pan_left", "pan_right", "pan_up", "pan_down", "zoom_in", "zoom_out", "rotate_cw",
           "rotate_ccw", "shake", "static")
_COLORMAPS = (cv2.COLORMAP_TWILIGHT_SHIFTED, cv2.COLORMAP_VIRIDIS, cv2.COLORMAP_OCEAN,
              cv2.COLORMAP_PINK, cv2.COLORMAP_BONE, cv2.COLORMAP_CIVIDIS, cv2.COLORMAP_TURBO)


def random_scene(size: int, seed: int) -> np.ndarray:
    """A `[size, size, 3] uint8` RGB scene: noise texture at seeded scales and colours, plus shapes."""
    rng = np.random.default_rng(seed)
    field = np.zeros((size, size), np.float32)
    for sigma in rng.uniform(0.8, 24.0, size=3):
        noise = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), sigma)
        field += rng.uniform(0.2, 1.0) * noise / (noise.std() + 1e-6)
    grey = cv2.normalize(field, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    scene = cv2.applyColorMap(grey, _COLORMAPS[int(rng.integers(len(_COLORMAPS)))])
    for _ in range(int(rng.integers(4, 12))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        center = tuple(int(c) for c in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            cv2.circle(scene, center, int(rng.integers(size // 40, size // 8)), color, -1, cv2.LINE_AA)
        else:
            half = rng.integers(size // 40, size // 8, 2)
            cv2.rectangle(scene, tuple(np.subtract(center, half)), tuple(np.add(center, half)), color, -1)
    return cv2.cvtColor(scene, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class MotionClip:
    """One clip: `motion` (a name in MOTIONS) applied to scene `scene_seed` (or `scene_index` into
    caller-provided scenes) at `speed`, with `seed` for the rest of the randomness."""

    motion: str
    scene_seed: int
    speed: float
    seed: int

    @property
    def label(self) -> int:
        return MOTIONS.index(self.motion)


_SPEED_RANGES = {"pan": (1.0, 4.0), "zoom": (0.008, 0.025), "rotate": (0.6, 2.5), "shake": (1.5, 4.0),
                 "static": (0.0, 0.0)}


def sample_clips(motions: Sequence[str], scene_seeds: Sequence[int], clips_per_pair: int,
                 seed: int) -> list[MotionClip]:
    """Every (motion, scene) pair `clips_per_pair` times, each with a random speed from its range."""
    rng = np.random.default_rng(seed)
    clips = []
    for motion in motions:
        low, high = _SPEED_RANGES[motion.split("_")[0]]
        for scene in scene_seeds:
            for _ in range(clips_per_pair):
                clips.append(MotionClip(motion, int(scene), float(rng.uniform(low, high)),
                                        int(rng.integers(2 ** 31))))
    return clips


def camera_matrix(motion: str, speed: float, t: int, shake_path: np.ndarray, center: float) -> np.ndarray:
    """The 2x3 affine from the scene to frame t's view for camera `motion` (a name in MOTIONS) at
    `speed`, about the scene centre; `shake_path` `[T, 2]` is the shake's offsets in pixels."""
    kind, _, direction = motion.partition("_")
    angle, scale, shift = 0.0, 1.0, np.zeros(2)
    if kind == "pan":
        step = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[direction]
        shift = -np.multiply(step, speed * t)  # the camera pans right: content moves left
    elif kind == "zoom":
        scale = (1 + speed) ** (t if direction == "in" else -t)
    elif kind == "rotate":
        angle = speed * t * (-1 if direction == "cw" else 1)
    elif kind == "shake":
        shift = shake_path[t]
    matrix = cv2.getRotationMatrix2D((center, center), angle, scale)
    matrix[:, 2] += shift
    return matrix


def shake_path(rng: np.random.Generator, num_frames: int, step: float) -> np.ndarray:
    """A zero-mean random walk `[num_frames, 2]` of offsets in pixels with `step`-sized steps."""
    walk = np.cumsum(rng.standard_normal((num_frames, 2)) * step, axis=0)
    return walk - walk.mean(axis=0)


def render_clip(clip: MotionClip, num_frames: int = 17, size: int = 224,
                scenes: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """The clip's frames `[num_frames, size, size, 3] uint8` RGB, with a little sensor noise.

    The scene is 2x the output size so zooms and rotations never reveal its border.
    """
    rng = np.random.default_rng(clip.seed)
    big = 2 * size
    scene = random_scene(big, clip.scene_seed) if scenes is None else \
        cv2.resize(scenes[clip.scene_seed % len(scenes)], (big, big), interpolation=cv2.INTER_AREA)
    shake = shake_path(rng, num_frames, clip.speed)
    offset = (big - size) / 2
    frames = []
    for t in range(num_frames):
        matrix = camera_matrix(clip.motion, clip.speed, t, shake, big / 2)
        matrix[:, 2] -= offset
        view = cv2.warpAffine(scene, matrix, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT101)
        noisy = view.astype(np.float32) + rng.normal(0, 2.0, view.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return np.stack(frames)


def clip_flow(clip: MotionClip, computer: OpticalFlowComputer, num_frames: int = 17, size: int = 224,
              scenes: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Flow of a rendered clip, `[num_frames - 1, size, size, 2] float32` pixels."""
    return rendered_flow(render_clip(clip, num_frames, size, scenes), computer)


def rendered_flow(frames: np.ndarray, computer: OpticalFlowComputer) -> np.ndarray:
    """Flow of rendered RGB frames `[T, H, W, 3] uint8` -> `[T - 1, H, W, 2] float32` pixels."""
    return computer.compute_sequence([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])


def iter_clip_flows(clips: Sequence[MotionClip], computer: OpticalFlowComputer, num_frames: int = 17,
                    size: int = 224, scenes: Sequence[np.ndarray] | None = None) -> Iterator[np.ndarray]:
    """`clip_flow` for each clip, in order."""
    for clip in clips:
        yield clip_flow(clip, computer, num_frames, size, scenes)


def write_motion_dataset(output_dir: str | os.PathLike, motions: Sequence[str] = MOTIONS,
                         scene_seeds: Sequence[int] = range(4), clips_per_pair: int = 1, seed: int = 0,
                         num_frames: int = 17, size: int = 224, fps: float = 25.0,
                         scenes: Sequence[np.ndarray] | None = None) -> list[Path]:
    """Write a labelled dataset as one folder per motion of H.264 clips: `<output_dir>/<motion>/
    <motion>_s<scene>_<n>.mp4`. `scenes` (e.g. frames of the demo video, user photos, RGB) replace
    the generated scenes (`scene_seeds` then index into them). Returns the written paths."""
    root = Path(output_dir)
    paths = []
    for number, clip in enumerate(sample_clips(motions, scene_seeds, clips_per_pair, seed)):
        path = root / clip.motion / f"{clip.motion}_s{clip.scene_seed}_{number:04d}.mp4"
        paths.append(write_video(path, render_clip(clip, num_frames, size, scenes), fps))
    return paths


def write_once(output_dir: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """`write(folder)` into a hidden sibling of `output_dir`, renamed into place, unless `output_dir`
    exists: a half-written dataset is never used. Returns the folder."""
    folder = Path(output_dir)
    if folder.is_dir():
        return folder
    staging = folder.parent / f".{folder.name}-{uuid.uuid4().hex[:8]}"
    write(staging)
    try:
        staging.rename(folder)
    except OSError:  # another writer finished first: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def check_motion_choice(motions: Sequence[str], known: Sequence[str]) -> None:
    """Raises DatasetError unless `motions` are at least two names of `known`."""
    unknown = sorted(set(motions) - set(known))
    if unknown or len(motions) < 2:
        raise DatasetError(f"choose at least two motions of {', '.join(known)} (unknown: {', '.join(unknown) or '-'})")


def ensure_motion_dataset(output_dir: str | os.PathLike, motions: Sequence[str] = MOTIONS, scenes: int = 2,
                          num_frames: int = 17, seed: int = 0) -> Path:
    """`write_motion_dataset` into `output_dir` unless it is already complete there (`write_once`).
    Returns the folder."""
    if not Path(output_dir).is_dir():
        check_motion_choice(motions, MOTIONS)
    return write_once(output_dir, lambda staging: write_motion_dataset(staging, motions, range(scenes), seed=seed,
                                                                       num_frames=num_frames))
