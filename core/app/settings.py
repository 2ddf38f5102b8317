"""Application settings from `config/app.yaml`, overridable by environment variables.

- `workspace` (env `DFE_WORKSPACE`): uploaded videos, flow, features, jobs and galleries.
- `model_dir` (env `DFE_MODEL_DIR`): the model registry's base folder.
- `demo_results` (env `DFE_DEMO_RESULTS`, true/false): a new workspace gets the demo video's flow and
  features computed in the background, so a first-time user sees results at once.
- `job_workers` (env `DFE_JOB_WORKERS`): the dashboard's job worker processes, so a short job need
  not wait behind a long one; 0 (default) chooses from the CPUs and memory (`auto_job_workers`).
- `job_engine` (env `DFE_JOB_ENGINE`): `local` (default) runs jobs in worker processes of the server;
  `ray` on Ray actors (`core.app.ray_jobs`), at `ray_address` (env `DFE_RAY_ADDRESS`; empty: start
  or join Ray on this machine), for a team that outgrows one machine.
- `users_file` (env `DFE_USERS_FILE`): users, roles and password hashes (`core.app.users`); empty
  (default) turns login off: one local admin, for the single-user demo.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from core.common.paths import CONFIG_DIR
from core.common.process import available_cpus
from core.common.values import as_type
from core.errors import ConfigError

DEFAULT_CONFIG = CONFIG_DIR / "app.yaml"


@dataclass(frozen=True)
class AppSettings:
    workspace: Path = Path("workspace")
    model_dir: Path = Path("results/model_checkpoints")
    demo_results: bool = True
    job_workers: int = 0
    job_engine: str = "local"
    ray_address: str = ""
    users_file: Path | None = None

    def __post_init__(self) -> None:
        if self.job_engine not in JOB_ENGINES:
            raise ConfigError(f"job_engine must be one of {', '.join(JOB_ENGINES)}, got {self.job_engine!r}")

    @property
    def job_runner_ray_address(self) -> str | None:
        """What `JobRunner` takes as `ray_address`: None for local worker processes."""
        return self.ray_address if self.job_engine == "ray" else None

    @property
    def login(self) -> bool:
        """Whether users must log in (a users file is set)."""
        return self.users_file is not None

    @property
    def workers(self) -> int:
        """`job_workers`, or the automatic choice when it is 0."""
        return self.job_workers if self.job_workers > 0 else auto_job_workers()


_ENVIRONMENT = {"workspace": "DFE_WORKSPACE", "model_dir": "DFE_MODEL_DIR", "demo_results": "DFE_DEMO_RESULTS",
                "job_workers": "DFE_JOB_WORKERS", "job_engine": "DFE_JOB_ENGINE", "ray_address": "DFE_RAY_ADDRESS",
                "users_file": "DFE_USERS_FILE"}
JOB_ENGINES = ("local", "ray")
WORKER_MEMORY_GB = 2.0  # what one job worker may take (TensorFlow, an I3D, a video's flow)


def auto_job_workers(cpus: int | None = None, memory_gb: float | None = None, max_workers: int = 4) -> int:
    """Job workers for a machine (default: this one): one per CPU, as many as memory holds at
    WORKER_MEMORY_GB each (half the memory left to the rest), at most `max_workers`, at least 1."""
    cpus = available_cpus() if cpus is None else cpus
    if memory_gb is None:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return max(1, min(cpus, int(memory_gb / 2 / WORKER_MEMORY_GB), max_workers))


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
