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
    from core.registry.serializer import ModelSerializer
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


def test_extractor_commands_from_dataset_to_report(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("model:\n  weights: random\n  sequence_length: 9\n  stride: 8\n"
                      "inference:\n  precision: float32\nflow:\n  method: dis\n")
    data = tmp_path / "data"
    made = run_cli("dataset", "--output_dir", str(data), "--motions", "pan_left", "static", "--scenes", "2",
                   "--frames", "18")
    assert made.returncode == 0 and "4 clips in 2 class folders" in made.stdout
    common = ["--data_dir", str(data), "--config", str(config), "--model_dir", str(tmp_path / "models"), "--quiet"]
    tested = run_cli("extractor", "--mode", "test", "--output_dir", str(tmp_path / "features"), *common)
    assert tested.returncode == 0, tested.stderr
    assert "4 written, 0 failed" in tested.stdout
    index = json.loads((tmp_path / "features" / "static" / "static_s0_0002_features.json").read_text())
    assert index["windows"][1]["start_ms"] == 320.0 and index["fps"] == 25.0
    evaluated = run_cli("extractor", "--mode", "evaluate", "--output_dir", str(tmp_path / "eval"), *common)
    assert evaluated.returncode == 0 and "knn1_accuracy" in evaluated.stdout
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["classes"] == ["pan_left", "static"] and "stability" in report
    implemented = run_cli("extractor", "--mode", "implement", "--output_dir", str(tmp_path / "run"),
                          "--epochs", "1", *common)
    assert implemented.returncode == 0 and "fine-tuned on 2 classes" in implemented.stdout
    visual = run_cli("test-extractor", "--output_dir", str(tmp_path / "visual"), "--num_samples", "1",
                     "--version", "latest", *common)
    assert visual.returncode == 0 and "using registry version" in visual.stdout
    sample = tmp_path / "visual" / "pan_left__pan_left_s0_0000"
    assert {"feature_evolution.gif", "comparative_view.png", "similarity.png"} <= {p.name for p in sample.iterdir()}
    empty = run_cli("extractor", "--mode", "test", "--data_dir", str(tmp_path / "nothing"), "--output_dir",
                    str(tmp_path / "o"))
    assert empty.returncode == 2 and "data folder not found" in empty.stderr


def test_dataset_scenes_can_come_from_a_video(demo_video, tmp_path):
    made = run_cli("dataset", "--output_dir", str(tmp_path), "--motions", "zoom_out", "--scenes", "2",
                   "--frames", "6", "--video", str(demo_video))
    assert made.returncode == 0, made.stderr
    from core.video.decode import probe_video
    clips = sorted((tmp_path / "zoom_out").iterdir())
    assert len(clips) == 2 and probe_video(clips[0]).frame_count == 6
