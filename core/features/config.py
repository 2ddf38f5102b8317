"""`config/dynamic_model_config.yaml`: the extractor's settings, validated when loaded.

Each section is a frozen dataclass; the YAML may leave keys out (defaults apply) but an unknown
key, a wrong type or an invalid value is a `ConfigError` that names the key and the file.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from core.common.paths import CONFIG_DIR
from core.flow.methods import FLOW_METHODS
from core.flow.store import FLOW_STORAGE
from core.model.endpoints import MIN_FRAMES, POOLED_FRAMES, EndpointError, resolve_endpoint
from core.common.values import as_type
from core.errors import ConfigError
from core.weights.sources import WEIGHT_SOURCES

DEFAULT_MODEL_CONFIG = CONFIG_DIR / "dynamic_model_config.yaml"
RGB_OPTIONS = ("off", "predictions", "two_stream")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
DEVICES = ("auto", "cpu", "gpu")
WINDOW_MODES = ("exact", "shared")  # each window through I3D alone, or windows pooled from one pass


@dataclass(frozen=True)
class ModelSection:
    channels: int = 2
    input_size: int = 224
    sequence_length: int = 16
    stride: int = 8
    endpoint: str = "Features"
    weights: str = "motion_curriculum"
    weights_path: str | None = None
    seed: int = 0
    rgb: str = "off"
    feature_fps: float | None = None  # features per second; replaces stride (stride = fps / feature_fps)
    window_mode: str = "exact"  # shared: overlapping windows from one I3D pass (core.features.shared_windows)


@dataclass(frozen=True)
class InferenceSection:
    batch_size: int = 4
    precision: str = "auto"
    device: str = "auto"


@dataclass(frozen=True)
class FlowSection:
    method: str = "dis"  # what the default weights are trained on: on TV-L1 flow they fall below random init
    fps: float | None = None
    storage: str = "npy"  # what extract_video keeps of the flow: none, npy, npy16, jpg or flo


@dataclass(frozen=True)
class ExtractorConfig:
    model: ModelSection = field(default_factory=ModelSection)
    inference: InferenceSection = field(default_factory=InferenceSection)
    flow: FlowSection = field(default_factory=FlowSection)

    def __post_init__(self) -> None:
        _check(self.model.channels in (2, 3), "model.channels", "must be 2 (flow) or 3 (RGB)")
        _check(self.model.sequence_length >= MIN_FRAMES, "model.sequence_length",
               f"must be at least {MIN_FRAMES} (I3D's minimum)")
        _check(self.model.stride >= 1, "model.stride", "must be at least 1")
        _check(self.model.weights in WEIGHT_SOURCES, "model.weights", f"must be one of {WEIGHT_SOURCES}")
        _check(self.model.weights != "checkpoint" or bool(self.model.weights_path), "model.weights_path",
               "must name the checkpoint file when model.weights is 'checkpoint'")
        _check(self.model.rgb in RGB_OPTIONS, "model.rgb", f"must be one of {RGB_OPTIONS}")
        _check(self.model.rgb == "off" or self.model.endpoint in ("Features", "Logits"), "model.rgb",
               "needs model.endpoint Features (two-stream features are 1024 RGB + 1024 flow)")
        _check(self.inference.batch_size >= 1, "inference.batch_size", "must be at least 1")
        _check(self.inference.precision in PRECISIONS, "inference.precision", f"must be one of {PRECISIONS}")
        _check(self.inference.device in DEVICES, "inference.device", f"must be one of {DEVICES}")
        _check(self.flow.method in FLOW_METHODS, "flow.method", f"must be one of {sorted(FLOW_METHODS)}")
        _check(self.flow.storage in FLOW_STORAGE, "flow.storage", f"must be one of {FLOW_STORAGE}")
        _check(self.model.feature_fps is None or self.model.feature_fps > 0, "model.feature_fps",
               "must be a positive number of features per second (or null to use model.stride)")
        _check(self.model.window_mode in WINDOW_MODES, "model.window_mode", f"must be one of {WINDOW_MODES}")
        _check(self.model.window_mode == "exact" or (self.model.endpoint == "Features"
                                                     and self.model.sequence_length == POOLED_FRAMES),
               "model.window_mode", f"shared needs model.endpoint Features and model.sequence_length {POOLED_FRAMES} "
               "(each output of I3D's last pool stands for 16 frames)")
        try:
            resolve_endpoint(self.model.endpoint)
        except EndpointError as error:
            raise ConfigError(f"model.endpoint: {error}") from None


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key} {message}")


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'the file'} must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) {[f'{where}{k}' for k in unknown]}; valid: {sorted(known)}")
    kwargs = {}
    for key, value in values.items():
        hint = hints[key]
        if is_dataclass(hint):
            kwargs[key] = _build(hint, value or {}, f"{where}{key}.")
        else:
            kwargs[key] = _typed(value, hint, f"{where}{key}")
    return cls(**kwargs)


def _typed(value: Any, hint: Any, key: str) -> Any:
    """`value` as the field's type (`core.common.values`); None where the field is optional."""
    allowed = typing.get_args(hint) or (hint,)
    if value is None and type(None) in allowed:
        return None
    return as_type(value, next(t for t in allowed if t is not type(None)), key)


def load_config(config_path: str | os.PathLike | None = None) -> ExtractorConfig:
    """The extractor config from `config_path`; None gives the defaults."""
    if config_path is None:
        return ExtractorConfig()
    path = Path(config_path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from None
    try:
        return _build(ExtractorConfig, values, "")
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
