"""Shared fixtures: small synthetic videos with known motion, written by the real encoder, a small
model registry, and helpers for tests that start a server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from core.video.synthetic import make_demo_video, translating_frames  # noqa: E402
from core.video.writer import write_video  # noqa: E402

SHARED_DATA = Path(os.environ.get("DFE_SHARED_DATA", ROOT.parent / "shared" / "data"))
MIDDLEBURY = SHARED_DATA / "middlebury"

# The known motion of the `panning_video` fixture, pixels per frame.
PAN_VELOCITY = (2.0, -1.0)


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def demo_video(video_dir) -> Path:
    """The demo clip, 20 frames of 160x120 at 25 fps, H.264 mp4."""
    return make_demo_video(video_dir / "demo.mp4", num_frames=20, size=(160, 120))


@pytest.fixture(scope="session")
def panning_video(video_dir) -> Path:
    """A texture panning at PAN_VELOCITY, 12 frames of 96x64 at 25 fps (lossless-ish H.264)."""
    return write_video(video_dir / "pan.mkv", translating_frames(12, PAN_VELOCITY, (96, 64)), 25.0)


@pytest.fixture()
def one_frame_video(tmp_path) -> Path:
    return write_video(tmp_path / "one.mp4", [np.full((32, 32, 3), 128, np.uint8)], 25.0)


OPENCV_DOC_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


@pytest.fixture(scope="session")
def opencv_doc() -> Path:
    """Debian's opencv-doc data folder (photographs, vtest.avi); skipped where absent, except in CI
    (DFE_REQUIRE_OPENCV_DOC=1), where its absence fails."""
    if not (OPENCV_DOC_DATA / "vtest.avi").exists():
        if os.environ.get("DFE_REQUIRE_OPENCV_DOC") == "1":
            raise RuntimeError("DFE_REQUIRE_OPENCV_DOC=1 but Debian's opencv-doc is not installed")
        pytest.skip(f"Debian's opencv-doc is not installed ({OPENCV_DOC_DATA} absent)")
    return OPENCV_DOC_DATA


@pytest.fixture(scope="session")
def middlebury_dir() -> Path:
    if not (MIDDLEBURY / "Venus" / "flow10.flo").exists():
        pytest.skip(f"Middlebury data not found at {MIDDLEBURY}")
    return MIDDLEBURY


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory):
    """A registry with two random-weight I3D versions, the first under the alias `default`."""
    from core.weights.flow_stream import build_flow_i3d
    from core.registry.versions import ModelRegistry
    from core.registry.serializer import ModelSerializer
    models = tmp_path_factory.mktemp("models")
    version = ModelSerializer(build_flow_i3d("random"), "dynamic_feature_extractor").save_model(models)
    ModelRegistry(models, "dynamic_feature_extractor").set_alias("default", version.rsplit("/", 1)[1])
    ModelSerializer(build_flow_i3d("random", seed=1), "dynamic_feature_extractor").save_model(
        models, {"description": "second random init"})
    return models


def converted_weights_dir(folder: Path) -> Path:
    """`folder` made a weights folder (DFE_WEIGHTS_DIR) holding only the Kinetics-400 RGB weights set-up
    converted (linked, where they are): nothing made by training."""
    from core.weights.kinetics import KINETICS_RGB_FILE, WEIGHTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name in (KINETICS_RGB_FILE, f"{KINETICS_RGB_FILE}.sha256"):
        if (WEIGHTS_DIR / name).exists():
            (folder / name).symlink_to(WEIGHTS_DIR / name)
    return folder


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m core ARGS` in a subprocess, as users run it, with `env` added to this environment."""
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; fail saying `what` was awaited if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {seconds} s for {what}")
        time.sleep(0.2)


def wait_until_healthy(url: str, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}: {server.stdout.read() if server.stdout else 'see its log'}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url}/_stcore/health did not answer ok in {seconds} s")
