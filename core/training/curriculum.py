"""A motion curriculum: clips where the camera and up to three objects move, each by known motion.

A clip is described by a `CurriculumClip` (background, camera motion, objects, photometric changes,
seed) and rendered on demand; flow comes from the project's own `OpticalFlowComputer`.

- Background: a real photograph (`core.training.photographs`) or a generated texture
  (`core.training.motion_dataset.random_scene`), seen through a camera that pans, zooms, rotates,
  shakes or stays still (`MOTIONS`), with an optional hand-held jitter on top (a random walk; drawn
  for still and panning cameras, and rendered since `RENDERING` 2).
- Objects (`ObjectSpec`): a soft-edged blob or bar cut from another image, moving on its own in the
  scene: translate (`left`/`right`/`up`/`down`), scale (`grow`/`shrink`), rotate (`turn_cw`/`turn_ccw`),
  a limb swinging about one end (`swing`), a shape deforming (`deform`), or `still`. Later objects
  pass in front of earlier ones (occlusion).
- Photometric: a brightness drift over the clip, sensor noise, JPEG compression.

Families (`FAMILIES`) say which of these move: `camera` (camera only), `object` (objects over a
still or jittering camera) and `composed` (both).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from core.errors import ConfigError
from core.flow.computer import OpticalFlowComputer
from core.training.motion_dataset import (MOTIONS, camera_matrix, check_motion_choice, random_scene, rendered_flow,
                                          shake_path, write_once)
from core.training.photographs import PhotographsMissingError, load_photograph, photograph_paths
from core.video.writer import write_video

OBJECT_MOTIONS = ("left", "right", "up", "down", "grow", "shrink", "turn_cw", "turn_ccw", "swing", "deform")
RIGID_OBJECT_MOTIONS = OBJECT_MOTIONS[:8]
FAMILIES = ("camera", "object", "composed")
SWING_PERIOD = 12.0  # frames per back-and-forth of a swinging limb
RENDERING = 2  # bumped by each change to how clips are rendered (2: the hand-held jitter is rendered)
_OBJECT_SPEEDS = {"left": (1.0, 3.5), "right": (1.0, 3.5), "up": (1.0, 3.5), "down": (1.0, 3.5),
                  "grow": (0.015, 0.04), "shrink": (0.015, 0.04), "turn_cw": (2.0, 6.0), "turn_ccw": (2.0, 6.0),
                  "swing": (20.0, 45.0), "deform": (0.15, 0.3), "still": (0.0, 0.0)}
_CAMERA_SPEEDS = {"pan": (1.0, 4.0), "zoom": (0.008, 0.025), "rotate": (0.6, 2.5), "shake": (1.5, 4.0),
                  "static": (0.0, 0.0)}


@dataclass(frozen=True)
class ImageSource:
    """Where pixels come from: a photograph (`photo`, `ref` its path) or a texture (`texture`, `ref` its seed)."""

    kind: str
    ref: str

    def image(self, short_side: int) -> np.ndarray:
        """`[H, W, 3] uint8` RGB, the shorter side `short_side`."""
        if self.kind == "photo":
            return load_photograph(Path(self.ref), short_side)
        return random_scene(short_side, int(self.ref))


@dataclass(frozen=True)
class ObjectSpec:
    """One object: `motion` (in OBJECT_MOTIONS or "still") at `speed` (pixels, scale, degrees per frame;
    swing: amplitude in degrees; deform: relative amplitude), cut from `source`, `size` pixels across,
    its path centred at `centre` (x, y as fractions of the frame), shape drawn from `shape_seed`; a
    swing starts `phase` radians into its cycle (0: at rest, turning counter-clockwise)."""

    motion: str
    speed: float
    source: ImageSource
    size: int
    centre: tuple[float, float]
    shape_seed: int
    phase: float = 0.0


@dataclass(frozen=True)
class CurriculumClip:
    """One clip: `background` seen by a camera doing `camera` at `camera_speed` plus `jitter` (pixels
    per frame of random walk), `objects` in drawing order, then `brightness_drift` (relative gain
    change over the clip), `noise` (sigma, grey levels) and `jpeg_quality` (0: none)."""

    family: str
    background: ImageSource
    camera: str
    camera_speed: float
    jitter: float
    objects: tuple[ObjectSpec, ...]
    brightness_drift: float
    noise: float
    jpeg_quality: int
    seed: int

    @property
    def camera_label(self) -> int:
        return MOTIONS.index(self.camera)

    @property
    def object_labels(self) -> np.ndarray:
        """`[len(OBJECT_MOTIONS)] float32` multi-hot: which object motions the clip shows."""
        hot = np.zeros(len(OBJECT_MOTIONS), np.float32)
        for obj in self.objects:
            if obj.motion in OBJECT_MOTIONS:
                hot[OBJECT_MOTIONS.index(obj.motion)] = 1.0
        return hot

    @property
    def object_shares(self) -> np.ndarray:
        """`[len(OBJECT_MOTIONS)] float32`: each object motion's share of the moving objects' area
        (size squared), summing to 1 when any object moves; which motion dominates, not only which occur."""
        shares = np.zeros(len(OBJECT_MOTIONS), np.float32)
        for obj in self.objects:
            if obj.motion in OBJECT_MOTIONS:
                shares[OBJECT_MOTIONS.index(obj.motion)] += obj.size ** 2
        return shares / max(float(shares.sum()), 1.0)

    @property
    def main_object_motion(self) -> str:
        """The first moving object's motion ("none" if no object moves)."""
        return next((obj.motion for obj in self.objects if obj.motion != "still"), "none")


def _object_mask(spec: ObjectSpec, rng: np.random.Generator) -> np.ndarray:
    """`[size, size] float32` alpha in [0, 1]: a bar for `swing`, otherwise a blob (ellipse plus
    polygons), with soft edges."""
    size = spec.size
    mask = np.zeros((size, size), np.uint8)
    centre = (size // 2, size // 2)
    if spec.motion == "swing":  # a limb: pivot at the centre, reaching to the right edge
        cv2.rectangle(mask, (size // 2, size // 2 - size // 10), (size - 2, size // 2 + size // 10), 255, -1)
        cv2.circle(mask, centre, size // 8, 255, -1)
    else:
        axes = (int(size * rng.uniform(0.25, 0.45)), int(size * rng.uniform(0.25, 0.45)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        for _ in range(int(rng.integers(0, 3))):
            points = (np.array(centre) + rng.normal(0, size * 0.2, (int(rng.integers(3, 6)), 2))).astype(np.int32)
            cv2.fillPoly(mask, [np.clip(points, 1, size - 2)], 255)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 1.0)


def _affine3(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _object_pose(spec: ObjectSpec, t: float, num_frames: int, start: np.ndarray) -> np.ndarray:
    """3x3 affine from the object's patch to scene coordinates at frame t."""
    half = spec.size / 2
    direction = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}.get(spec.motion, (0, 0))
    position = start + np.multiply(direction, spec.speed * (t - (num_frames - 1) / 2))
    angle, scale = 0.0, 1.0
    if spec.motion in ("grow", "shrink"):
        scale = (1 + spec.speed) ** ((t - (num_frames - 1) / 2) * (1 if spec.motion == "grow" else -1))
    elif spec.motion in ("turn_cw", "turn_ccw"):
        angle = spec.speed * t * (-1 if spec.motion == "turn_cw" else 1)
    elif spec.motion == "swing":
        angle = spec.speed * np.sin(2 * np.pi * t / SWING_PERIOD + spec.phase)
    rotation = cv2.getRotationMatrix2D((half, half), angle, scale)
    rotation[:, 2] += position - half
    return _affine3(rotation)


def _deformed(patch: np.ndarray, mask: np.ndarray, amplitude: float, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Patch and mask bent by a travelling sine wave (non-rigid motion) at frame t."""
    size = mask.shape[0]
    grid = np.arange(size, dtype=np.float32)
    wave = amplitude * size * 0.25 * np.sin(2 * np.pi * (grid / size - t / 10.0))
    map_x = np.tile(grid, (size, 1)) + wave[:, None]
    map_y = np.tile(grid[:, None], (1, size)) + wave[None, :]
    return (cv2.remap(patch, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101),
            cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))


def _camera_matrices(clip: CurriculumClip, rng: np.random.Generator, num_frames: int, size: int) -> np.ndarray:
    """`[num_frames, 3, 3]` affines from the scene (twice the frame) to each frame's view; draws the
    shake and jitter paths from `rng` (the renderer's generator, first)."""
    big = 2 * size
    shake = shake_path(rng, num_frames, clip.camera_speed) if clip.camera == "shake" else np.zeros((num_frames, 2))
    jitter = shake_path(rng, num_frames, clip.jitter)  # the hand-held jitter, on top of any camera motion
    cameras = []
    for t in range(num_frames):
        camera = camera_matrix(clip.camera, clip.camera_speed, t, shake, big / 2)
        camera[:, 2] += jitter[t] - (big - size) / 2
        cameras.append(_affine3(camera))
    return np.stack(cameras)


def _object_start(spec: ObjectSpec, size: int) -> np.ndarray:
    """Where the object's path is centred, in scene pixels (x, y), for frames `size` pixels across."""
    return np.array(spec.centre) * size + size / 2


def render_curriculum_clip(clip: CurriculumClip, num_frames: int = 17, size: int = 224) -> np.ndarray:
    """The clip's frames `[num_frames, size, size, 3] uint8` RGB.

    The scene is twice the frame so camera motion never reveals its border; objects move in scene
    coordinates and are seen through the same camera.
    """
    rng = np.random.default_rng(clip.seed)
    big = 2 * size
    scene = clip.background.image(big)
    top, left = (scene.shape[0] - big) // 2, (scene.shape[1] - big) // 2
    scene = scene[top:top + big, left:left + big]
    cameras = _camera_matrices(clip, rng, num_frames, size)
    objects = []
    for spec in clip.objects:
        shape_rng = np.random.default_rng(spec.shape_seed)
        texture = spec.source.image(max(spec.size, 64) * 2)
        y, x = (shape_rng.integers(0, max(1, s - spec.size)) for s in texture.shape[:2])
        patch = np.ascontiguousarray(texture[y:y + spec.size, x:x + spec.size])
        objects.append((spec, patch, _object_mask(spec, shape_rng), _object_start(spec, size)))
    gain = 1 + clip.brightness_drift * (np.arange(num_frames) / max(1, num_frames - 1) - 0.5)
    frames = []
    for t, camera in enumerate(cameras):
        frame = cv2.warpAffine(scene, camera[:2], (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
        for spec, patch, mask, start in objects:
            if spec.motion == "deform":
                patch, mask = _deformed(patch, mask, spec.speed, t)
            to_frame = (camera @ _object_pose(spec, t, num_frames, start))[:2]
            pixels = cv2.warpAffine(patch, to_frame, (size, size), flags=cv2.INTER_LINEAR).astype(np.float32)
            alpha = cv2.warpAffine(mask, to_frame, (size, size), flags=cv2.INTER_LINEAR)[..., None]
            frame = frame * (1 - alpha) + pixels * alpha
        frame = frame * gain[t] + rng.normal(0, clip.noise, frame.shape)
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        if clip.jpeg_quality:
            _, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, clip.jpeg_quality])
            frame = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
        frames.append(frame)
    return np.stack(frames)


MOTION_PARAMETERS = ("vx", "vy", "log_scale", "turn")


def span_motion(poses: np.ndarray, point: np.ndarray, periods: int) -> np.ndarray:
    """The motion of 3x3 affines `poses` `[T, 3, 3]` over `periods` equal spans of the T - 1 frame
    steps, `[periods, 4] float64` per frame: the velocity of `point` (x, y, pixels, in the poses'
    source coordinates; its velocity where the poses map it), the log-scale
    rate and the turn (degrees, counter-clockwise as seen; `MOTION_PARAMETERS`), from each span's
    first pose to its last (so a motion that swings back and forth within a span partly cancels)."""
    steps = len(poses) - 1
    if steps % periods:
        raise ConfigError(f"{steps} frame steps do not split into {periods} equal time spans")
    span = steps // periods
    rows = []
    for first in range(0, steps, span):
        relative = poses[first + span] @ np.linalg.inv(poses[first])
        at = poses[first] @ np.append(point, 1.0)
        velocity = (relative @ at - at)[:2] / span
        linear = relative[:2, :2]
        turn = np.degrees(np.arctan2(-linear[1, 0], linear[0, 0])) / span
        rows.append([*velocity, 0.5 * np.log(abs(np.linalg.det(linear))) / span, turn])
    return np.array(rows)


def motion_parameters(clip: CurriculumClip, num_frames: int = 17, size: int = 224, periods: int = 2) -> np.ndarray:
    """`[periods * 8] float32`: per time span, the camera's motion of the frame's content (`span_motion`
    of the view, at the scene's centre), then the objects' own motion in the scene summed over the
    moving objects, each weighted by its area as a share of the frame's (`span_motion` of its pose,
    at its centre): what the clip's motion is, as numbers rather than classes. Swings turn; a
    deforming shape's rigid motion is none."""
    cameras = _camera_matrices(clip, np.random.default_rng(clip.seed), num_frames, size)
    camera = span_motion(cameras, np.array([size, size], float), periods)  # the scene's centre, in view at t=0
    objects = np.zeros_like(camera)
    for spec in clip.objects:
        if spec.motion in OBJECT_MOTIONS:
            start = _object_start(spec, size)
            poses = np.stack([_object_pose(spec, t, num_frames, start) for t in range(num_frames)])
            objects += (spec.size / size) ** 2 * span_motion(poses, np.array([spec.size / 2] * 2), periods)
    return np.concatenate([camera, objects], axis=1).astype(np.float32).ravel()


def curriculum_clip_flow(clip: CurriculumClip, computer: OpticalFlowComputer, num_frames: int = 17,
                         size: int = 224) -> np.ndarray:
    """Flow of a rendered clip, `[num_frames - 1, size, size, 2] float32` pixels."""
    return rendered_flow(render_curriculum_clip(clip, num_frames, size), computer)


def iter_curriculum_flows(clips: Sequence[CurriculumClip], computer: OpticalFlowComputer,
                          num_frames: int = 17, size: int = 224) -> Iterator[np.ndarray]:
    for clip in clips:
        yield curriculum_clip_flow(clip, computer, num_frames, size)


def _speed(rng: np.random.Generator, ranges: dict[str, tuple[float, float]], key: str) -> float:
    low, high = ranges[key]
    return float(rng.uniform(low, high))


class CurriculumSampler:
    """Draws `CurriculumClip`s from image pools with a seeded generator.

    Args:
        photographs: paths of the photographs backgrounds and objects come from.
        texture_share: fraction of backgrounds and objects that are generated textures instead.
        object_motions: the object motions to draw (e.g. leave a family out of training).
        camera_motions: the camera motions to draw for `camera` and `composed` clips.
        photometric: whether to draw brightness drift, noise and compression (else none, noise 2).
        composed_exclusions: {camera motion: object motions never drawn with it in `composed` clips}
            (to hold those pairs out of training).
        single_object_share: share of `object` and `composed` clips with exactly one object (else 1 to
            `max_objects`).
        object_sizes: the range of object sizes, pixels across (e.g. smaller for people seen from afar).
        slowest_object: the lowest object speed as a fraction of each motion's lowest (<1: slower objects).
        random_swing_phase: swings start anywhere in their cycle, so which way a limb turns in a part
            of the clip varies (else every swing starts at rest, turning counter-clockwise).
    """

    def __init__(self, photographs: Sequence, seed: int, texture_share: float = 0.3,
                 object_motions: Sequence[str] = OBJECT_MOTIONS, camera_motions: Sequence[str] = MOTIONS,
                 photometric: bool = True, composed_exclusions: dict[str, Sequence[str]] | None = None,
                 single_object_share: float = 0.0, max_objects: int = 3,
                 object_sizes: tuple[int, int] = (48, 112), slowest_object: float = 1.0,
                 random_swing_phase: bool = False):
        self.photographs = [str(p) for p in photographs]
        self.rng = np.random.default_rng(seed)
        self.texture_share = texture_share if self.photographs else 1.0
        self.object_motions = tuple(object_motions)
        self.camera_motions = tuple(camera_motions)
        self.photometric = photometric
        self.composed_exclusions = composed_exclusions or {}
        self.single_object_share = single_object_share
        self.max_objects = max_objects
        self.object_sizes = object_sizes
        self.speeds = {motion: (low * slowest_object, high) for motion, (low, high) in _OBJECT_SPEEDS.items()}
        self.random_swing_phase = random_swing_phase

    def source(self) -> ImageSource:
        if self.rng.random() < self.texture_share:
            return ImageSource("texture", str(int(self.rng.integers(2 ** 31))))
        return ImageSource("photo", self.photographs[int(self.rng.integers(len(self.photographs)))])

    def object(self, motion: str) -> ObjectSpec:
        # `rng` draws speed, source, size, centre, shape seed in this order (every clip depends on it)
        speed, source = _speed(self.rng, self.speeds, motion), self.source()
        size = int(self.rng.integers(*self.object_sizes))
        centre = tuple(float(c) for c in self.rng.uniform(0.3, 0.7, 2))
        spec = ObjectSpec(motion, speed, source, size, centre, int(self.rng.integers(2 ** 31)))
        if motion == "swing" and self.random_swing_phase:
            # from the shape's seed, not `rng`: every clip is the one drawn without random phases but for it
            return replace(spec, phase=float(np.random.default_rng([spec.shape_seed, 1]).uniform(0, 2 * np.pi)))
        return spec

    def _object_count(self) -> int:
        """One object for `single_object_share` of clips, else 1 to `max_objects`."""
        if self.rng.random() < self.single_object_share:
            return 1
        return int(self.rng.integers(1, self.max_objects + 1))

    def clip(self, family: str, camera: str | None = None, objects: Sequence[str] | None = None,
             background: ImageSource | None = None) -> CurriculumClip:
        """One clip of `family`; `camera` and `objects` (motions, first drawn first) are drawn when None."""
        rng = self.rng
        if camera is None:
            choices = [m for m in self.camera_motions if m != "static"] if family == "composed" else self.camera_motions
            camera = "static" if family == "object" else str(rng.choice(choices))
        if objects is None:
            count = 0 if family == "camera" else self._object_count()
            allowed = [m for m in self.object_motions
                       if family != "composed" or m not in self.composed_exclusions.get(camera, ())]
            objects = [str(rng.choice(allowed)) for _ in range(count)]
            if family == "camera" and rng.random() < 0.5:
                objects = ["still"]
        hand_held = camera in ("static", "pan_left", "pan_right", "pan_up", "pan_down")
        jitter = float(rng.uniform(0.0, 0.6)) if hand_held else 0.0
        photometric = self.photometric and rng.random() < 0.7
        return CurriculumClip(
            family=family, background=background or self.source(), camera=camera,
            camera_speed=_speed(rng, _CAMERA_SPEEDS, camera.split("_")[0]), jitter=jitter,
            objects=tuple(self.object(m) for m in objects),
            brightness_drift=float(rng.uniform(-0.3, 0.3)) if photometric else 0.0,
            noise=float(rng.uniform(0.5, 5.0)) if photometric else 2.0,
            jpeg_quality=int(rng.integers(30, 95)) if photometric and rng.random() < 0.5 else 0,
            seed=int(rng.integers(2 ** 31)))

    def clips(self, count: int, families: Sequence[str]) -> list[CurriculumClip]:
        """`count` clips, `families` (of FAMILIES; one named twice gets twice the clips) in turn."""
        if not families or set(families) - set(FAMILIES):
            raise ConfigError(f"training families {list(families)}: name one or more of {FAMILIES}")
        return [self.clip(families[i % len(families)]) for i in range(count)]


def write_object_motion_dataset(output_dir: str | os.PathLike, motions: Sequence[str] = RIGID_OBJECT_MOTIONS,
                                scenes: int = 2, num_frames: int = 17, seed: int = 0, size: int = 224,
                                fps: float = 25.0) -> list[Path]:
    """A labelled object-motion dataset, one folder per motion of H.264 clips
    (`<output_dir>/<motion>/<motion>_s<scene>.mp4`): on each of `scenes` backgrounds (the TEST
    photographs where opencv-doc is installed, else textures), one object doing each motion under a
    still or slightly jittering camera. Returns the written paths."""
    try:
        photographs = photograph_paths("test")
    except PhotographsMissingError:
        photographs = []
    sampler = CurriculumSampler(photographs, seed, texture_share=0.0 if photographs else 1.0)
    paths = []
    for scene in range(scenes):
        background = sampler.source()
        for motion in motions:
            clip = sampler.clip("object", "static", [motion], background)
            path = Path(output_dir) / motion / f"{motion}_s{scene}.mp4"
            paths.append(write_video(path, render_curriculum_clip(clip, num_frames, size), fps))
    return paths


def ensure_object_motion_dataset(output_dir: str | os.PathLike, motions: Sequence[str] = RIGID_OBJECT_MOTIONS,
                                 scenes: int = 2, num_frames: int = 17, seed: int = 0) -> Path:
    """`write_object_motion_dataset` into `output_dir` unless it is already complete there. Returns the folder."""
    if not Path(output_dir).is_dir():
        check_motion_choice(motions, OBJECT_MOTIONS)
    return write_once(output_dir, lambda staging: write_object_motion_dataset(staging, motions, scenes, num_frames,
                                                                              seed))
