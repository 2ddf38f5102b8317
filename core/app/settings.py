"""Application settings from `config/app.yaml`, overridable by environment variables.

- `workspace` (env `DFE_WORKSPACE`): uploaded videos, flow, features, jobs and galleries.
- `model_dir` (env `DFE_MODEL_DIR`): the model registry's base folder.
- `demo_results` (env `DFE_DEMO_RESULTS`, true/false): a new workspace gets the demo video's flow and
  features computed in the background, so a first-time user sees results at once.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from core.common.paths import CONFIG_DIR
from core.common.values import as_type
from core.errors import ConfigError

DEFAULT_CONFIG = CONFIG_DIR / "app.yaml"


@dataclass(frozen=True)
class AppSettings:
    workspace: Path = Path("workspace")
    model_dir: Path = Path("results/model_checkpoints")
    demo_results: bool = True


_ENVIRONMENT = {"workspace": "DFE_WORKSPACE", "model_dir": "DFE_MODEL_DIR", "demo_results": "DFE_DEMO_RESULTS"}


def load_settings(config_path: str | os.PathLike | None = None) -> AppSettings:
    """Settings from `config_path` (default `config/app.yaml` if present), then the environment."""
    path = Path(config_path) if config_path else DEFAULT_CONFIG
    values: dict = {}
    if config_path or path.exists():
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"cannot read settings file {path}: {error}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must be a mapping of setting: value")
    known = {f.name for f in fields(AppSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown} in {path}; valid: {sorted(known)}")
    for key, variable in _ENVIRONMENT.items():
        if os.environ.get(variable):
            values[key] = os.environ[variable]
    types = typing.get_type_hints(AppSettings)
    return AppSettings(**{key: as_type(value, types[key], key) for key, value in values.items()})
