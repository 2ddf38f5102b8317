"""A fingerprint of a model's weight values: which weights computed a set of features."""

from __future__ import annotations

import hashlib

import keras
import numpy as np


def weights_sha256(model: keras.Model) -> str:
    """sha256 over every weight of `model` (trainable or not, in the model's order): each weight's
    shape and its values as float32, so the same values give the same digest whatever their dtype."""
    digest = hashlib.sha256()
    for variable in model.weights:
        values = np.ascontiguousarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)
        digest.update(repr(values.shape).encode())
        digest.update(values.tobytes())
    return digest.hexdigest()
