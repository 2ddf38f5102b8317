"""The RGB stream: DeepMind's Kinetics-400 I3D over the video frames of each window.

Gives, per window, the Kinetics-400 top-5 actions (so users see what is happening next to the motion
features) and the RGB `Features` (1024) for two-stream features. RGB preprocessing (DeepMind): RGB
frames, short side 256, centre crop 224, values rescaled to [-1, 1]. A flow window over flow frames
[s, s + L) uses the video frames s .. s + L - 1 (L frames, as in kinetics-i3d's sample).
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Sequence

import cv2
import numpy as np
import tensorflow as tf

from core.common.paths import ASSETS_DIR
from core.errors import AssetError
from core.model.i3d import endpoint_model
from core.features.sequences import Window
from core.video.decode import FrameTransform, iter_frames
from core.weights.kinetics import kinetics400_rgb_model

LABELS_FILE = ASSETS_DIR / "kinetics400_labels.txt"
RGB_TRANSFORM = FrameTransform(short_side=256, crop=224)


def kinetics400_labels() -> list[str]:
    """The 400 Kinetics class names in the order of the I3D logits."""
    labels = LABELS_FILE.read_text().splitlines()
    if len(labels) != 400:
        raise AssetError(f"{LABELS_FILE} must list 400 classes, found {len(labels)}")
    return labels


@dataclass(frozen=True)
class Prediction:
    """One Kinetics class and its softmax probability."""

    label: str
    probability: float


def top_k(logits: np.ndarray, labels: Sequence[str], k: int = 5) -> list[Prediction]:
    """The k most probable classes of one `[400]` logits vector."""
    probabilities = tf.nn.softmax(logits).numpy()
    order = np.argsort(-probabilities)[:k]
    return [Prediction(labels[i], float(probabilities[i])) for i in order]


def iter_window_frames(video_path: str | os.PathLike, windows: Sequence[Window],
                       target_fps: float | None = None) -> Iterator[tuple[Window, np.ndarray]]:
    """Each window's RGB frames `[L, 224, 224, 3] float32` in [-1, 1], decoding the video once and
    keeping only the frames a pending window still needs."""
    pending = sorted(windows, key=lambda w: w.start)
    needed = deque()
    length_of = {w.index: w.stop - w.start + w.padded for w in pending}
    for index, frame in enumerate(iter_frames(video_path, target_fps, RGB_TRANSFORM)):
        needed.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        first_kept = index - len(needed) + 1
        while pending and pending[0].stop - 1 <= index:
            window = pending.pop(0)
            frames = list(needed)[window.start - first_kept:window.stop - first_kept]
            frames += [frames[-1]] * (length_of[window.index] - len(frames))  # the padding rule
            yield window, np.stack(frames).astype(np.float32) / 127.5 - 1.0
        keep_from = pending[0].start if pending else index + 1
        while needed and index - len(needed) + 1 < keep_from:
            needed.popleft()


class RGBStream:
    """Kinetics-400 RGB I3D giving per-window logits and Features."""

    def __init__(self) -> None:
        model = kinetics400_rgb_model()
        self._model = endpoint_model(model, ["Logits", "Features"])
        self._forward = tf.function(lambda x: self._model(x, training=False), reduce_retracing=True)
        self.labels = kinetics400_labels()

    def run(self, video_path: str | os.PathLike, windows: Sequence[Window],
            target_fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(`[N, 400]` logits, `[N, 1024]` Features) for the windows, in the order given."""
        logits, features = {}, {}
        for window, frames in iter_window_frames(video_path, windows, target_fps):
            out_logits, out_features = self._forward(tf.constant(frames[None]))
            logits[window.index] = np.asarray(out_logits)[0]
            features[window.index] = np.asarray(out_features)[0]
        return (np.stack([logits[w.index] for w in windows]), np.stack([features[w.index] for w in windows]))
