"""Initial weights for the flow stream (2 input channels).

- `cross_modal_kinetics`: cross-modality initialisation (Wang et al., "Temporal Segment Networks",
  ECCV 2016): every weight copied from the Kinetics-400 RGB I3D, except the first conv, whose
  kernel `[7, 7, 7, 3, 64]` is averaged over the RGB channels and repeated for the 2 flow channels.
- `random`: Keras' default initialisation with a fixed seed (for tests and as a baseline).
"""

from __future__ import annotations

import keras
import numpy as np

from core.i3d import build_i3d
from core.weights import assign_weights, kinetics400_rgb_model

FIRST_CONV = "Conv3d_1a_7x7_conv"


def cross_modal_arrays(rgb_model: keras.Model, channels: int = 2) -> dict[str, list[np.ndarray]]:
    """{layer name: weights} for a `channels`-input I3D from an RGB I3D (see module docstring)."""
    arrays = {layer.name: [np.asarray(w) for w in layer.get_weights()]
              for layer in rgb_model.layers if layer.weights}
    kernel = arrays[FIRST_CONV][0]
    mean = kernel.mean(axis=3, keepdims=True)
    arrays[FIRST_CONV] = [np.repeat(mean, channels, axis=3)]
    return arrays


def build_flow_i3d(weights: str = "cross_modal_kinetics", seed: int = 0, channels: int = 2,
                   size: int | None = 224, dtype: str | None = None) -> keras.Model:
    """The flow-stream I3D (up to Logits, any T) with the chosen initial weights."""
    if weights == "random":
        keras.utils.set_random_seed(seed)
        return build_i3d(channels=channels, size=size, dtype=dtype)
    if weights == "cross_modal_kinetics":
        model = build_i3d(channels=channels, size=size, dtype=dtype)
        assign_weights(model, cross_modal_arrays(kinetics400_rgb_model(), channels))
        return model
    raise ValueError(f"unknown flow weights {weights!r}; use cross_modal_kinetics or random")
