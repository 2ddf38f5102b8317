"""The command line: each command's own job (options, exit status, one-line errors, summaries and
output files), run through `core.cli.main.main` in this process; and `python -m core` itself, as
users run it, in two subprocesses.

What the commands compute is tested where it is implemented: the registry in test_serialization,
fine-tuning in test_training, evaluation reports in test_metrics and test_dashboard (the evaluate
job), `visualize_sample` in test_visualization. Here those library calls are replaced by recording
stand-ins where running them would only repeat those tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT, run_cli
from core.features.store import read_features_hdf5
from core.cli.main import main
from core.registry.versions import ModelRegistry

SMALL_CONFIG = ("model:\n  weights: random\n  sequence_length: 9\n  stride: 8\n"
                "inference:\n  precision: float32\nflow:\n  method: dis\n")


@pytest.fixture(autouse=True)
def restore_process_settings():
    """`main` configures the whole process (OpenCV threads and log level, quiet FFmpeg/TensorFlow):
    put back what the other tests run with."""
    threads, level = cv2.getNumThreads(), cv2.utils.logging.getLogLevel()
    environment = {name: os.environ.get(name) for name in ("OPENCV_FFMPEG_LOGLEVEL", "TF_CPP_MIN_LOG_LEVEL")}
    yield
    cv2.setNumThreads(threads)
    cv2.utils.logging.setLogLevel(level)
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of one command run in this process."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_help_lists_commands_and_options_and_argparse_refuses_bad_usage(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    listing = capsys.readouterr().out
    for command in ("flow", "sequences", "extractor", "test-extractor", "dataset", "weights", "models", "batch",
                    "users"):
        assert re.search(rf"^    {command}\s", listing, re.MULTILINE), command
    with pytest.raises(SystemExit) as done:
        main(["flow", "--help"])
    assert done.value.code == 0
    flow_help = capsys.readouterr().out
    assert "--method" in flow_help and "--format" in flow_help and "--param KEY=VALUE" in flow_help
    with pytest.raises(SystemExit) as done:
        main(["flow", "--method", "dis"])
    assert done.value.code == 2 and "the following arguments are required: --input_dir" in capsys.readouterr().err


def test_python_m_core_runs_a_command_and_passes_its_exit_status(demo_video, panning_video, tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(demo_video, videos / "demo.mp4")
    shutil.copy(panning_video, videos / "pan.mkv")
    (videos / "broken.avi").write_text("not a video")
    out = tmp_path / "flow"
    first = run_cli("flow", "--input_dir", str(videos), "--output_dir", str(out), "--method", "dis")
    assert first.returncode == 1  # one video failed, the others are done
    assert "failed: broken.avi: " in first.stderr and "not a video" in first.stderr
    assert "Traceback" not in first.stderr and "pair/s" in first.stderr  # the progress bars
    assert first.stdout.strip().splitlines()[-1] == f"flow: 2 computed, 0 already done, 1 failed -> {out}"
    assert np.load(out / "demo.npy").shape == (19, 224, 224, 2) and np.load(out / "pan.npy").shape[0] == 11

    again = cli(capsys, "flow", "--input_dir", str(videos), "--output_dir", str(out), "--method", "dis", "--quiet")
    assert again[0] == 1 and again[1] == f"flow: 0 computed, 2 already done, 1 failed -> {out}\n"
    assert again[2].startswith("failed: broken.avi: ") and len(again[2].splitlines()) == 1  # no progress bars

    missing = run_cli("sequences", "--mode", "compute", "--video_path", str(tmp_path / "nope.mp4"),
                      "--output_dir", str(tmp_path), "--quiet")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.splitlines() == [f"error: video not found: {tmp_path / 'nope.mp4'}"]


def test_sequences_compute_then_load(demo_video, tmp_path, capsys):
    out = tmp_path / "processed"
    status, stdout, _ = cli(capsys, "sequences", "--mode", "compute", "--video_path", str(demo_video),
                            "--output_dir", str(out), "--method", "farneback", "--sequence_length", "9",
                            "--stride", "5", "--quiet")
    assert status == 0 and stdout == f"demo: 3 windows written -> {out / 'demo_windows.npy'}\n"
    assert np.load(out / "demo_windows.npy").shape == (3, 9, 224, 224, 2)
    assert json.loads((out / "flow" / "demo.json").read_text())["method"] == "farneback"
    again = tmp_path / "again"
    status, stdout, _ = cli(capsys, "sequences", "--mode", "load", "--input_dir", str(out / "flow"), "--output_dir",
                            str(again), "--sequence_length", "9", "--stride", "5", "--quiet")
    assert status == 0 and stdout == f"demo: 3 windows written -> {again / 'demo_windows.npy'}\n"
    index = json.loads((again / "demo_windows.json").read_text())
    assert index["fps"] == 25.0 and [w["start_ms"] for w in index["windows"]] == [0.0, 200.0, 400.0]


def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys):
    for args, message in (
            (["sequences", "--mode", "load", "--output_dir", str(tmp_path)],
             "error: --mode load needs --input_dir (a folder of stored flow)"),
            (["sequences", "--mode", "compute", "--output_dir", str(tmp_path)], "error: --mode compute needs --video_path"),
            (["flow", "--input_dir", str(tmp_path), "--output_dir", str(tmp_path / "o")],
             f"error: no videos found in {tmp_path}"),
            (["flow", "--input_dir", str(tmp_path / "missing")], "error: input folder not found: "),
            (["flow", "--input_dir", str(tmp_path), "--method", "dis", "--param", "speed=3"],
             "error: unknown parameter")):
        status, stdout, stderr = cli(capsys, *args)
        assert status == 2 and stdout == "", args
        assert len(stderr.splitlines()) == 1 and stderr.startswith(message), (args, stderr)


def test_models_command_runs_each_action_on_the_registry(tmp_path, capsys, monkeypatch):
    import keras
    from core.registry.serializer import ModelSerializer
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    first, second = (Path(ModelSerializer(model, "m").save_model(tmp_path, {"author": "ana"})).name for _ in range(2))
    base = ["models", "--base_dir", str(tmp_path), "--model_name", "m"]
    monkeypatch.setenv("DFE_WORKSPACE", str(tmp_path / "workspace"))  # changes go to its audit log
    assert cli(capsys, *base, "alias", "production", first) == (0, f"production -> {first}\n", "")
    assert cli(capsys, *base, "tag", "latest", "--add", "best", "cpu") == (0, "best, cpu\n", "")
    assert cli(capsys, *base, "tag", "latest", "--remove", "cpu") == (0, "best\n", "")
    status, listing, _ = cli(capsys, *base, "list")
    header, rule, *rows = listing.splitlines()
    assert status == 0 and header.split() == ["version", "created", "(UTC)", "author", "description", "metrics",
                                              "aliases", "tags", "size", "(MB)"]
    assert set(rule) == {"-", " "} and [row.split()[0] for row in rows] == [second, first]  # newest first
    assert "best" in rows[0] and "production" in rows[1] and all("ana" in row for row in rows)
    status, shown, _ = cli(capsys, *base, "show", "production")
    assert status == 0 and json.loads(shown)["version"] == first and json.loads(shown)["author"] == "ana"
    assert cli(capsys, *base, "load", "production") == (
        0, f"loaded m {first}: 10 parameters, input [None, 4], all 2 files verified\n", "")
    status, exported, _ = cli(capsys, *base, "export", "production")
    assert status == 0 and exported == f"{tmp_path / 'm' / first / 'saved_model'}\n"
    assert (tmp_path / "m" / first / "saved_model" / "saved_model.pb").is_file()
    keras.saving.save_model(model, tmp_path / "legacy.h5")
    status, imported, _ = cli(capsys, *base, "import", str(tmp_path / "legacy.h5"), "--description", "from h5")
    assert status == 0 and ModelRegistry(tmp_path, "m").metadata(Path(imported.strip()).name)["description"] == "from h5"

    monkeypatch.setattr("builtins.input", lambda question: "n")
    assert cli(capsys, *base, "delete", "production") == (1, "kept\n", "")
    assert cli(capsys, *base, "delete", "production", "--yes") == (0, f"deleted {first}\n", "")
    assert first not in ModelRegistry(tmp_path, "m").versions()
    import getpass
    from core.app.audit import AuditLog
    entries = list(reversed(AuditLog(tmp_path / "workspace" / "audit.jsonl").entries()))
    assert [(e["action"], e["target"]) for e in entries] == [
        ("alias_version", first), ("tag_version", second), ("tag_version", second),
        ("import_version", Path(imported.strip()).name), ("delete_version", first)]
    assert {e["user"] for e in entries} == {f"cli:{getpass.getuser()}"}
    assert cli(capsys, *base, "alias", "staging") == (
        2, "", "error: give the version the alias should point at (or --remove)\n")
    status, _, error = cli(capsys, "models", "--base_dir", str(tmp_path), "--model_name", "../etc", "list")
    assert status == 2 and error.startswith("error: invalid model name")
    status, _, error = cli(capsys, *base, "show", "v0")
    assert status == 2 and error.startswith("error: unknown version")


def test_dataset_then_extractor_commands(tmp_path, capsys, monkeypatch):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL_CONFIG)
    data = tmp_path / "data"
    assert cli(capsys, "dataset", "--output_dir", str(data), "--motions", "pan_left", "static", "--scenes", "2",
               "--frames", "18") == (0, f"wrote 4 clips in 2 class folders -> {data}\n", "")
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*.mp4")) == [
        "pan_left/pan_left_s0_0000.mp4", "pan_left/pan_left_s1_0001.mp4",
        "static/static_s0_0002.mp4", "static/static_s1_0003.mp4"]
    common = ["--data_dir", str(data), "--config", str(config), "--model_dir", str(tmp_path / "models"), "--quiet"]

    # test: features of every clip, one line each (18 frames: windows at frames 0 and 8)
    status, stdout, stderr = cli(capsys, "extractor", "--mode", "test", "--output_dir", str(tmp_path / "features"),
                                 *common)
    assert status == 0 and stderr == ""
    assert stdout.splitlines() == [*(f"{name}: 2 windows x 1024 features, 0-680 ms" for name in (
        "pan_left__pan_left_s0_0000", "pan_left__pan_left_s1_0001", "static__static_s0_0002",
        "static__static_s1_0003")), f"features: 4 written, 0 failed -> {tmp_path / 'features'} (all in features.h5)"]
    index = json.loads((tmp_path / "features" / "static" / "static_s0_0002_features.json").read_text())
    assert [w["first_frame"] for w in index["windows"]] == [0, 8]
    run = read_features_hdf5(tmp_path / "features" / "features.h5")
    assert sorted(run) == ["pan_left__pan_left_s0_0000", "pan_left__pan_left_s1_0001", "static__static_s0_0002",
                           "static__static_s1_0003"]
    np.testing.assert_array_equal(run["static__static_s0_0002"].features,
                                  np.load(tmp_path / "features" / "static" / "static_s0_0002_features.npy"))

    # implement: class folders are fine-tuned on (test_training tests fine_tune itself)
    from core.training import fine_tune as training
    calls = []

    def fake_fine_tune(extractor, data_dir, output_dir, config, model_dir=None, progress=None):
        calls.append((Path(data_dir), Path(output_dir), config.epochs, model_dir))
        return training.TrainingResult({}, {"val_accuracy": 0.5, "epochs_run": 1.0}, ["pan_left", "static"],
                                       Path(output_dir) / "checkpoints", "/registry/v9")

    monkeypatch.setattr(training, "fine_tune", fake_fine_tune)
    status, stdout, _ = cli(capsys, "extractor", "--mode", "implement", "--output_dir", str(tmp_path / "run"),
                            "--epochs", "1", *common)
    assert status == 0 and calls == [(data, tmp_path / "run", 1, str(tmp_path / "models"))]
    assert stdout == "fine-tuned on 2 classes: val_accuracy 0.500, epochs_run 1.000\nsaved /registry/v9\n"
    # ...a folder without class folders: the configured model is saved as it is
    status, stdout, _ = cli(capsys, "extractor", "--mode", "implement", "--output_dir", str(tmp_path / "run"),
                            *[str(data / "static") if arg == str(data) else arg for arg in common])
    (version,) = ModelRegistry(tmp_path / "models", "dynamic_feature_extractor").versions()
    assert status == 0 and stdout == (f"no class folders in {data / 'static'}: saved the configured model as "
                                      f"{tmp_path / 'models' / 'dynamic_feature_extractor' / version}\n")

    # evaluate: prints the report it wrote (the report itself: test_metrics, test_dashboard)
    from core.evaluation import reports

    def fake_evaluate_folder(extractor, data_dir, output_dir, progress_for):
        report = {"discriminability": {"knn1_accuracy": 0.75}, "stability": {"shift_3": 0.5},
                  "instance_discrimination": 1.0}
        Path(output_dir).mkdir(parents=True)
        (Path(output_dir) / "report.json").write_text(json.dumps(report))
        return Path(output_dir) / "report.json"

    monkeypatch.setattr(reports, "evaluate_folder", fake_evaluate_folder)
    status, stdout, _ = cli(capsys, "extractor", "--mode", "evaluate", "--output_dir", str(tmp_path / "eval"), *common)
    assert status == 0 and stdout.splitlines() == [
        "         knn1_accuracy: 0.750", "     stability shift_3: 0.500", "instance discrimination: 1.000",
        f"report: {tmp_path / 'eval' / 'report.json'} (+ confusion_matrix.png, projection.png)"]

    # test-extractor: the first --num_samples inputs, with a registry version's model
    from core.viz import samples
    drawn = []

    def fake_visualize_sample(extractor, sequence, output_dir, layer):
        drawn.append((sequence.name, output_dir, layer))
        return [output_dir / "a.png", output_dir / "b.gif"]

    monkeypatch.setattr(samples, "visualize_sample", fake_visualize_sample)
    status, stdout, _ = cli(capsys, "test-extractor", "--output_dir", str(tmp_path / "visual"), "--num_samples", "1",
                            "--version", "latest", "--layer", "Mixed_3c", *common)
    sample = tmp_path / "visual" / "pan_left__pan_left_s0_0000"
    assert status == 0 and stdout == f"using registry version {version}\npan_left__pan_left_s0_0000: 2 views -> {sample}\n"
    assert drawn == [("pan_left__pan_left_s0_0000", sample, "Mixed_3c")]

    assert cli(capsys, "extractor", "--mode", "test", "--data_dir", str(tmp_path / "nothing"), "--output_dir",
               str(tmp_path / "o")) == (2, "", f"error: data folder not found: {tmp_path / 'nothing'}\n")


def test_dataset_scenes_can_come_from_a_video(demo_video, tmp_path, capsys):
    status, stdout, _ = cli(capsys, "dataset", "--output_dir", str(tmp_path), "--motions", "zoom_out", "--scenes", "2",
                            "--frames", "6", "--video", str(demo_video))
    assert status == 0 and stdout == f"wrote 2 clips in 1 class folders -> {tmp_path}\n"
    from core.video.decode import probe_video
    clips = sorted((tmp_path / "zoom_out").iterdir())
    assert len(clips) == 2 and probe_video(clips[0]).frame_count == 6
    assert cli(capsys, "dataset", "--output_dir", str(tmp_path / "x"), "--motions", "static", "--images",
               str(tmp_path / "no.png")) == (2, "", f"error: cannot read image {tmp_path / 'no.png'}\n")


def test_flow_of_two_videos_with_one_stem_writes_two_outputs(demo_video, panning_video, tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(demo_video, videos / "clip.mp4")
    shutil.copy(panning_video, videos / "clip.mkv")
    out = tmp_path / "flow"
    status, stdout, _ = cli(capsys, "flow", "--input_dir", str(videos), "--output_dir", str(out), "--method", "dis",
                            "--quiet")
    assert status == 0 and stdout == f"flow: 2 computed, 0 already done, 0 failed -> {out}\n"
    assert np.load(out / "clip.mp4.npy").shape[0] == 19 and np.load(out / "clip.mkv.npy").shape[0] == 11


def test_users_command_adds_users_from_stdin_and_lists_them(tmp_path):
    users_file = tmp_path / "users.yaml"

    def users(*args: str, password: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core", "users", "--users_file", str(users_file), *args],
                              cwd=ROOT, capture_output=True, text=True, input=password, timeout=120)

    added = users("add", "ann", "--role", "admin", "--password_stdin", password="ann-secret-1\n")
    assert added.returncode == 0 and added.stdout.startswith("ann (admin) can log in")
    assert users("add", "bob", "--password_stdin", password="bob-secret-1\n").returncode == 0
    assert users("list").stdout.splitlines() == ["ann\tadmin", "bob\tmember"]
    short = users("add", "cy", "--password_stdin", password="short\n")
    assert short.returncode == 2 and short.stderr.splitlines() == ["error: the password needs at least 8 characters"]
    from core.app.users import UserDirectory
    assert UserDirectory(users_file).authenticate("bob", "bob-secret-1").role == "member"
    env = {k: v for k, v in os.environ.items() if k != "DFE_USERS_FILE"}
    off = subprocess.run([sys.executable, "-m", "core", "users", "list"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=env)
    assert off.returncode == 2 and "no users file" in off.stderr
