"""The command line, run as users run it: `python -m core ...` in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np

from conftest import ROOT


def run_cli(*args: str):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_help_lists_commands_and_options():
    result = run_cli("--help")
    assert result.returncode == 0 and "flow" in result.stdout and "sequences" in result.stdout
    flow_help = run_cli("flow", "--help")
    assert flow_help.returncode == 0 and "--method" in flow_help.stdout and "--format" in flow_help.stdout


def test_flow_command_skips_done_work_and_reports_bad_videos(demo_video, panning_video, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(demo_video, videos / "demo.mp4")
    shutil.copy(panning_video, videos / "pan.mkv")
    (videos / "broken.avi").write_text("not a video")
    out = tmp_path / "flow"
    first = run_cli("flow", "--input_dir", str(videos), "--output_dir", str(out), "--method", "dis")
    assert first.returncode == 1  # one video failed, the others are done
    assert "broken.avi" in first.stderr and "not a video" in first.stderr
    assert "Traceback" not in first.stderr
    assert "2 computed, 0 already done, 1 failed" in first.stdout
    assert "pair/s" in first.stderr  # the progress bar
    assert np.load(out / "demo.npy").shape == (19, 224, 224, 2)
    second = run_cli("flow", "--input_dir", str(videos), "--output_dir", str(out), "--method", "dis",
                     "--quiet")
    assert "0 computed, 2 already done, 1 failed" in second.stdout


def test_sequences_compute_then_load(demo_video, tmp_path):
    out = tmp_path / "processed"
    computed = run_cli("sequences", "--mode", "compute", "--video_path", str(demo_video), "--output_dir",
                       str(out), "--method", "farneback", "--sequence_length", "9", "--stride", "5")
    assert computed.returncode == 0, computed.stderr
    assert np.load(out / "demo_windows.npy").shape == (3, 9, 224, 224, 2)
    loaded = run_cli("sequences", "--mode", "load", "--input_dir", str(out / "flow"), "--output_dir",
                     str(tmp_path / "again"), "--sequence_length", "9", "--stride", "5", "--quiet")
    assert loaded.returncode == 0 and "3 windows written" in loaded.stdout
    index = json.loads((tmp_path / "again" / "demo_windows.json").read_text())
    assert index["fps"] == 25.0 and index["windows"][1]["start_ms"] == 200.0


def test_bad_input_gives_one_line_and_exit_2(tmp_path):
    missing = run_cli("sequences", "--mode", "compute", "--video_path", str(tmp_path / "nope.mp4"),
                      "--output_dir", str(tmp_path), "--quiet")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("error: video not found")
    empty = run_cli("flow", "--input_dir", str(tmp_path), "--output_dir", str(tmp_path / "o"))
    assert empty.returncode == 2 and "no videos found" in empty.stderr
    bad_param = run_cli("flow", "--input_dir", str(tmp_path), "--method", "dis", "--param", "speed=3")
    assert bad_param.returncode == 2 and "unknown parameter" in bad_param.stderr


def test_models_command_manages_the_registry(tmp_path):
    import keras
    from core.serialization import ModelSerializer
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    first, second = (ModelSerializer(model, "m").save_model(tmp_path, {"author": "ana"}) for _ in range(2))
    base = ["models", "--base_dir", str(tmp_path), "--model_name", "m"]
    assert run_cli(*base, "alias", "production", first.rsplit("/", 1)[1]).returncode == 0
    assert run_cli(*base, "tag", "latest", "--add", "best").stdout.strip() == "best"
    listing = run_cli(*base, "list").stdout
    assert "production" in listing and "ana" in listing and "best" in listing and "MB" in listing
    assert json.loads(run_cli(*base, "show", "production").stdout)["author"] == "ana"
    assert "files verified" in run_cli(*base, "load", "production").stdout
    exported = run_cli(*base, "export", "production").stdout.strip()
    assert exported.endswith("saved_model") and (tmp_path / "m" / first.rsplit("/", 1)[1] /
                                                  "saved_model" / "saved_model.pb").exists()
    assert "saved_model/saved_model.pb" in json.loads(run_cli(*base, "show", "production").stdout)["files"]
    keras.saving.save_model(model, tmp_path / "legacy.h5")
    imported = run_cli(*base, "import", str(tmp_path / "legacy.h5"), "--description", "from h5")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(run_cli(*base, "show", imported.stdout.strip()).stdout)["description"] == "from h5"
    assert run_cli(*base, "delete", "production", "--yes").returncode == 0
    assert "production" not in run_cli(*base, "list").stdout
    refused = run_cli("models", "--base_dir", str(tmp_path), "--model_name", "../etc", "list")
    assert refused.returncode == 2 and "invalid model name" in refused.stderr
    unknown = run_cli(*base, "show", "v0")
    assert unknown.returncode == 2 and "unknown version" in unknown.stderr
