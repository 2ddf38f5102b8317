"""Settings: the config file, environment overrides, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.app.settings import load_settings
from core.errors import ConfigError
from core.app.workspace import Workspace


def test_defaults_and_environment_override(monkeypatch, tmp_path):
    monkeypatch.delenv("DFE_WORKSPACE", raising=False)
    assert load_settings().workspace == Path("workspace")
    monkeypatch.setenv("DFE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("DFE_MODEL_DIR", str(tmp_path / "models"))
    settings = load_settings()
    assert settings.workspace == tmp_path and settings.model_dir == tmp_path / "models"


def test_unknown_keys_and_bad_files_are_clear_errors(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("workspace: w\nworkspce_typo: x\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(config)
    config.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(config)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")


def test_new_workspace_gets_the_demo_video_once(tmp_path):
    workspace = Workspace(tmp_path)
    created = workspace.ensure_demo_video()
    assert created is not None and created.exists()
    assert workspace.ensure_demo_video() is None
    assert workspace.videos() == [created]


def test_demo_results_is_a_switch(monkeypatch, tmp_path):
    assert load_settings().demo_results is True
    monkeypatch.setenv("DFE_DEMO_RESULTS", "off")
    assert load_settings().demo_results is False
    config = tmp_path / "app.yaml"
    config.write_text("demo_results: maybe\n")
    monkeypatch.delenv("DFE_DEMO_RESULTS")
    with pytest.raises(ConfigError, match="true or false"):
        load_settings(config)


@pytest.mark.parametrize("word", ["on", "YES", "1", "true"])
def test_every_kind_of_setting_reads_a_boolean_word_the_same_way(word, monkeypatch, tmp_path):
    from core.features.config import load_config
    from core.flow.methods import get_method

    monkeypatch.setenv("DFE_DEMO_RESULTS", word.swapcase())
    assert load_settings().demo_results is True
    assert get_method("dis").resolve({"use_spatial_propagation": word})["use_spatial_propagation"] is True
    config = tmp_path / "extractor.yaml"
    config.write_text("model:\n  stride: '4'\ninference:\n  batch_size: 3\nflow:\n  fps: 25\n")
    loaded = load_config(config)
    assert (loaded.model.stride, loaded.inference.batch_size, loaded.flow.fps) == (4, 3, 25.0)


def test_setting_values_of_the_wrong_type_name_the_setting():
    from core.common.values import as_type, comma_list

    with pytest.raises(ConfigError, match="parameter 'levels' must be int, got 2.5"):
        as_type(2.5, int, "parameter 'levels'")
    with pytest.raises(ConfigError, match="batch_size must be int, got True"):
        as_type(True, int, "batch_size")
    assert comma_list(" 0, 10,,20 ", int, "channels") == [0, 10, 20]
    with pytest.raises(ConfigError, match="channels must be int, got 'x'"):
        comma_list("1, x", int, "channels")
    with pytest.raises(ConfigError, match="at least one"):
        comma_list(" , ", str, "tags")


def test_job_workers_come_from_the_setting_or_from_cpus_and_memory(monkeypatch):
    from core.app.settings import auto_job_workers
    assert auto_job_workers(cpus=2, memory_gb=24) == 2  # this project's CI machine
    assert auto_job_workers(cpus=16, memory_gb=8) == 2  # memory-bound: 2 GB per worker, half the memory
    assert auto_job_workers(cpus=1, memory_gb=2) == 1 and auto_job_workers(cpus=64, memory_gb=512) == 4
    monkeypatch.delenv("DFE_JOB_WORKERS", raising=False)
    assert load_settings().job_workers == 0 and load_settings().workers == auto_job_workers()
    monkeypatch.setenv("DFE_JOB_WORKERS", "3")
    assert load_settings().workers == 3
    monkeypatch.setenv("DFE_JOB_WORKERS", "many")
    with pytest.raises(ConfigError, match="job_workers"):
        load_settings()


def test_login_is_off_without_a_users_file_and_on_with_one(monkeypatch, tmp_path):
    monkeypatch.delenv("DFE_USERS_FILE", raising=False)
    assert load_settings().users_file is None and not load_settings().login
    monkeypatch.setenv("DFE_USERS_FILE", str(tmp_path / "users.yaml"))
    assert load_settings().users_file == tmp_path / "users.yaml" and load_settings().login
    config = tmp_path / "app.yaml"
    config.write_text("users_file: ''\n")
    monkeypatch.delenv("DFE_USERS_FILE")
    assert load_settings(config).users_file is None
    config.write_text("users_file: 7\n")
    with pytest.raises(ConfigError, match="users_file must be Path, got 7"):
        load_settings(config)


def test_the_job_engine_is_local_unless_set_to_ray(monkeypatch, tmp_path):
    for name in ("DFE_JOB_ENGINE", "DFE_RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().job_runner_ray_address is None
    monkeypatch.setenv("DFE_JOB_ENGINE", "ray")
    assert load_settings().job_runner_ray_address == ""  # Ray on this machine
    monkeypatch.setenv("DFE_RAY_ADDRESS", "head:6379")
    assert load_settings().job_runner_ray_address == "head:6379"
    monkeypatch.setenv("DFE_JOB_ENGINE", "slurm")
    with pytest.raises(ConfigError, match="job_engine must be one of local, ray, got 'slurm'"):
        load_settings()
