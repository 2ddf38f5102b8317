"""Application settings from `config/app.yaml`, overridable by environment variables.

- `workspace` (env `DFE_WORKSPACE`): uploaded videos, flow, features, jobs and galleries.
- `model_dir` (env `DFE_MODEL_DIR`): the model registry's base folder.
- `demo_results` (env `DFE_DEMO_RESULTS`, true/false): a new workspace gets the demo video's flow and
  features computed in the background, so a first-time user sees results at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from core.common.paths import CONFIG_DIR
from core.errors import ConfigError

DEFAULT_CONFIG = CONFIG_DIR / "app.yaml"


@dataclass(frozen=True)
class AppSettings:
    workspace: Path = Path("workspace")
    model_dir: Path = Path("results/model_checkpoints")
    demo_results: bool = True


_ENVIRONMENT = {"workspace": "DFE_WORKSPACE", "model_dir": "DFE_MODEL_DIR", "demo_results": "DFE_DEMO_RESULTS"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _typed(key: str, value) -> Path | bool:
    """`value` (from YAML or the environment) as the type of the setting's default."""
    if not isinstance(getattr(AppSettings, key), bool):
        return Path(value)
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in _TRUE + _FALSE:
        return str(value).strip().lower() in _TRUE
    raise ConfigError(f"{key} must be true or false, got {value!r}")


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
    return AppSettings(**{key: _typed(key, value) for key, value in values.items()})
