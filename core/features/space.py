"""Which stored features can be set side by side: those computed in the same feature space.

A feature vector's meaning is set by the network and its weight values, the window it sees and the
flow it reads. The stride, the feature rate, the precision, the flow's storage and the RGB stream
change which windows are computed or how exactly, not what the vectors mean.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from core.errors import DFEError
from core.features.store import FeatureSet

MODEL_KEYS = ("model_name", "endpoint", "weights_sha256", "input_size", "sequence_length", "window_mode")
FLOW_KEYS = ("method", "params", "convention", "fps")


class FeatureSpaceError(DFEError, ValueError):
    """Features computed with different models, windows or flow are set side by side."""


def feature_space(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings (as stored with a `FeatureSet`) that decide what its vectors mean, by name;
    settings a feature set does not record are left out."""
    flow = settings.get("flow") or {}
    return ({key: settings[key] for key in MODEL_KEYS if key in settings}
            | {f"flow {key}": flow[key] for key in FLOW_KEYS if key in flow})


def same_space(first: FeatureSet, second: FeatureSet) -> bool:
    """Whether `first` and `second` agree on every feature-space setting both record."""
    one, other = feature_space(first.settings), feature_space(second.settings)
    return all(one[key] == other[key] for key in one.keys() & other.keys())


def require_one_space(feature_sets: Sequence[FeatureSet]) -> None:
    """Raise `FeatureSpaceError` naming each setting on which `feature_sets` differ and the videos
    on each side; a setting some of them do not record is compared among those that do."""
    spaces = [(f.name, feature_space(f.settings)) for f in feature_sets]
    differences = []
    for key in dict.fromkeys(key for _, space in spaces for key in space):
        videos_by_value: dict[str, list[str]] = {}
        for name, space in spaces:
            if key in space:
                videos_by_value.setdefault(json.dumps(space[key], sort_keys=True), []).append(name)
        if len(videos_by_value) > 1:
            sides = "; ".join(f"{_short(value)} for {', '.join(names)}" for value, names in videos_by_value.items())
            differences.append(f"{key}: {sides}")
    if differences:
        raise FeatureSpaceError("these videos' features were computed with different settings, so their "
                                f"similarities mean nothing ({' | '.join(differences)}); extract them again "
                                "with the same model, window and flow")


def _short(value: str, limit: int = 60) -> str:
    """A JSON value cut to `limit` characters for a message (weight digests are 64 characters)."""
    return value if len(value) <= limit else value[:12] + "..."
