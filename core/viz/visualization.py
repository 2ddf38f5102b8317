"""`FeatureVisualization`: what a layer of the I3D sees, over space and time: the activations of
`layer_name` computed by a model, with every view of `core.viz.activation_views.ActivationViews`.
"""

from __future__ import annotations

import keras
import numpy as np

from core.viz.activation_views import ActivationViews
from core.model.i3d import endpoint_model

__all__ = ["ActivationViews", "FeatureVisualization"]


class FeatureVisualization(ActivationViews):
    """Visualise the activations of `layer_name` (an endpoint, e.g. "Mixed_3b", or an alias such as
    "inception_3a_concat") of an I3D `model`: `get_intermediate_activations`, then any view."""

    def __init__(self, model: keras.Model, layer_name: str = "Mixed_5c", fps: float | None = None) -> None:
        super().__init__(layer_name, fps)
        self.model = model
        self._activation_model = endpoint_model(model, self.layer_name)

    def get_intermediate_activations(self, preprocessed: np.ndarray) -> np.ndarray:
        """The layer's output for `[B, T, 224, 224, C]` clips: `[B, t, h, w, c] float32`."""
        return np.asarray(self._activation_model(np.asarray(preprocessed, np.float32), training=False),
                          dtype=np.float32)
