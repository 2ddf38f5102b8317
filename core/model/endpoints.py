"""The vocabulary of I3D layer names, without importing Keras.

DeepMind's endpoint names are canonical (`Conv3d_1a_7x7` ... `Mixed_5c`, then the head); the
GoogLeNet names are aliases: `inception_3a/3b` = `Mixed_3b/3c`, `inception_4a..4e` =
`Mixed_4b..4f`, `inception_5a/5b` = `Mixed_5b/5c`, each also with the suffix `_concat`.
"""

from __future__ import annotations

from core.errors import DFEError

TEMPORAL_STRIDE = 8  # input frames per step of Mixed_5c's time axis (time is halved three times)
POOLED_FRAMES = 2 * TEMPORAL_STRIDE  # input frames behind one output of the head's 2-step average pool
MIN_FRAMES = TEMPORAL_STRIDE + 1  # the 2-frame average pool needs ceil(T / 8) >= 2

HEAD_ENDPOINTS = ("Features", "Logits", "Predictions")
ENDPOINT_ORDER: tuple[str, ...] = (
    "Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
    "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
    "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c") + HEAD_ENDPOINTS

_GOOGLENET = {"inception_3a": "Mixed_3b", "inception_3b": "Mixed_3c", "inception_4a": "Mixed_4b",
              "inception_4b": "Mixed_4c", "inception_4c": "Mixed_4d", "inception_4d": "Mixed_4e",
              "inception_4e": "Mixed_4f", "inception_5a": "Mixed_5b", "inception_5b": "Mixed_5c"}
ALIASES: dict[str, str] = {**_GOOGLENET, **{f"{k}_concat": v for k, v in _GOOGLENET.items()}}

SPATIAL_ENDPOINTS = ENDPOINT_ORDER[:-len(HEAD_ENDPOINTS)]  # outputs [B, t, h, w, c]
FEATURE_ENDPOINT_CHOICES = ("Features", *SPATIAL_ENDPOINTS, *sorted(ALIASES))  # what features can be taken from
# The layers with learned filters (convolutions and Inception blocks), for pictures of what they see.
VISUAL_LAYER_CHOICES = (*(name for name in SPATIAL_ENDPOINTS if not name.startswith("MaxPool")), *sorted(ALIASES))


class EndpointError(DFEError, ValueError):
    """An endpoint or alias name that the architecture does not have."""


def resolve_endpoint(name: str) -> str:
    """DeepMind's endpoint name for `name` (an endpoint or a GoogLeNet alias)."""
    canonical = ALIASES.get(name, name)
    if canonical not in ENDPOINT_ORDER:
        raise EndpointError(f"unknown endpoint {name!r}; use one of {', '.join(ENDPOINT_ORDER)} "
                            f"or an alias ({', '.join(sorted(ALIASES))})")
    return canonical
