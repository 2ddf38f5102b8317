"""The RGB stream: DeepMind's Kinetics-400 I3D over the video frames of each window.

Gives, per window, the Kinetics-400 top-5 actions (so users see what is happening next to the motion
features) and the RGB `Features` (1024) for two-stream features. RGB preprocessing (DeepMind): RGB
frames, short side 256, centre crop 224, values rescaled to [-1, 1]. A flow window over flow frames
[s, s + L) uses the video frames s .. s + L - 1 (L frames, as in kinetics-i3d's sample): the same
`Window` cut from the stream of decoded frames (`core.features.streaming.WindowCutter`) instead of
the stream of flow frames, both from one decode at the same frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import tensorflow as tf

from core.common.paths import ASSETS_DIR
from core.errors import AssetError
from core.model.i3d import endpoint_model
from core.video.decode import FrameTransform
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


def rgb_frame(frame: np.ndarray) -> np.ndarray:
    """A decoded `[H, W, 3] uint8` BGR frame as the RGB stream takes it: `[224, 224, 3] uint8` RGB."""
    return cv2.cvtColor(RGB_TRANSFORM(frame), cv2.COLOR_BGR2RGB)


class RGBStream:
    """Kinetics-400 RGB I3D giving per-window logits and Features."""

    def __init__(self) -> None:
        model = kinetics400_rgb_model()
        self._model = endpoint_model(model, ["Logits", "Features"])
        clips = tf.TensorSpec([None, None, 224, 224, 3], tf.float32)  # one trace for every batch size
        self._forward = tf.function(lambda x: self._model(x, training=False), input_signature=[clips])
        self.labels = kinetics400_labels()

    def forward(self, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`[B, L, 224, 224, 3] uint8` RGB windows (`rgb_frame`) -> (`[B, 400]` logits, `[B, 1024]`
        Features), float32; pixels are rescaled to [-1, 1] here."""
        logits, features = self._forward(tf.constant(clips.astype(np.float32) / 127.5 - 1.0))
        return np.asarray(logits, np.float32), np.asarray(features, np.float32)
