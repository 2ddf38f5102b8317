"""Batch extraction on real processes and a real local Ray cluster: a folder of small demo videos
(two `clip.mp4` in different sub-folders, a truncated mp4), workers killed from outside while they
work on a video, re-runs that skip."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray

from conftest import ROOT, run_cli
from core.common.atomic import sha256_of
from core.common.process import descendant_pids
from core.batch.records import LONG_VIDEO_S, BatchSpec
from core.features.store import read_features_hdf5
from core.batch.run import batch_spec, output_lock, run_batch
from core.batch.inputs import find_batch_inputs, folder_name
from core.batch.local import LocalEngine
from core.batch.ray_engine import connect_ray
from core.features.config import load_config
from core.errors import DFEError
from core.video.synthetic import make_demo_video, translating_frames
from core.video.writer import write_video

CONFIG = "model:\n  weights: random\n  sequence_length: 9\n  stride: 8\ninference:\n  precision: float32\n" \
         "flow:\n  method: dis\n"
GOOD = ("a/clip.mp4", "b/clip.mp4", "pan.mkv")
# Frames of the videos the tests kill workers on: a worker has a file of such a video open for ~2 s
# (its flow is written while windows go through the model), so the killer cannot miss it.
VICTIM_FRAMES = 50


def make_videos(folder: Path) -> Path:
    """Three small videos (two with the same name in different sub-folders) and a truncated mp4;
    b/clip.mp4 and pan.mkv, on which workers are killed, have VICTIM_FRAMES frames."""
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    make_demo_video(folder / "a" / "clip.mp4", num_frames=14, size=(160, 120), seed=1)
    make_demo_video(folder / "b" / "clip.mp4", num_frames=VICTIM_FRAMES, size=(160, 120), seed=2)
    write_video(folder / "pan.mkv", translating_frames(VICTIM_FRAMES, (2.0, -1.0), (96, 64)), 25.0)
    whole = (folder / "a" / "clip.mp4").read_bytes()
    (folder / "broken.mp4").write_bytes(whole[:len(whole) // 2])
    return folder


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    return make_videos(tmp_path_factory.mktemp("batch_videos"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> tuple[Path, Path]:
    """(registry folder with a small random-weights I3D as alias 'default', its config file)."""
    from core.features.extractor import DynamicFeatureExtractor
    from core.registry.versions import ModelRegistry

    folder = tmp_path_factory.mktemp("batch_registry")
    config = folder / "small.yaml"
    config.write_text(CONFIG)
    version = DynamicFeatureExtractor(config=load_config(config)).save_model_with_serializer(folder / "models")
    ModelRegistry(folder / "models", "dynamic_feature_extractor").set_alias("default", Path(version).name)
    return folder / "models", config


@pytest.fixture(scope="module")
def local_run(videos, registry, tmp_path_factory):
    """The CLI's first run over the folder with the local engine: (result, output folder)."""
    models, config = registry
    out = tmp_path_factory.mktemp("batch_local") / "out"
    result = run_cli("batch", "--videos", str(videos), "--output_dir", str(out), "--workers", "2",
                     "--model_dir", str(models), "--config", str(config))
    return result, out


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance with 2 CPUs for this module's tests (its processes, the actors too, are
    descendants of this one); yields its address."""
    connect_ray(num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def files_in_use(pid: int) -> set[str]:
    """The regular files process `pid` has open or memory-mapped (empty if it is gone)."""
    paths = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        with open(f"/proc/{pid}/maps") as maps:  # address perms offset device inode [path]
            paths.update(fields[5] for fields in (line.rstrip("\n").split(maxsplit=5) for line in maps)
                         if len(fields) == 6)
    except OSError:
        return set()
    for fd in fds:
        try:
            if stat.S_ISREG(os.stat(f"/proc/{pid}/fd/{fd}").st_mode):
                paths.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed meanwhile
            continue
    return paths


def stopped(pid: int) -> bool:
    """True when every thread of `pid` is stopped (or the process is gone)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat_file:
                if stat_file.read().rsplit(")", 1)[1].split()[0] not in "TtZX":
                    return False
        except OSError:
            continue
    return True


class WorkerKiller:
    """Kills batch workers from outside while they work on chosen videos, as the out-of-memory killer
    would: a thread watches OUT for the hidden folder a worker fills for one attempt at a video
    (`OUT/.tmp-<uuid>-<folder>/`, see `core.batch.worker`) and SIGKILLs the process (a descendant of
    this test process: a local pool process, or a Ray actor) that has a file in it open or
    memory-mapped: the flow being written, then read back for the features. Each attempt is killed
    once, each folder at most `deaths[folder]` times. The worker is stopped (SIGSTOP) and checked
    again before the kill, so it is always killed in the middle of its attempt, never after it
    committed. `killed[folder]` lists the killed process ids, `niceness[pid]` their niceness."""

    def __init__(self, out: Path, deaths: dict[str, int]) -> None:
        self.out, self.left = out, dict(deaths)
        self.killed: dict[str, list[int]] = {folder: [] for folder in deaths}
        self.niceness: dict[int, int] = {}
        self.attempts_done: set[str] = set()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "WorkerKiller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _watch(self) -> None:
        try:
            while not self._stop.wait(0.01):
                attempts = self._attempts()
                if attempts:
                    for pid in descendant_pids(os.getpid()):
                        self._kill_if_working_on(pid, attempts)
        except BaseException as error:  # reported by __exit__
            self.error = error

    def _attempts(self) -> dict[str, str]:
        """{attempt folder path + "/": video folder} of the attempts still to kill."""
        try:
            names = os.listdir(self.out)
        except FileNotFoundError:
            return {}
        return {f"{self.out / name}/": name.split("-", 2)[2] for name in names
                if name.startswith(".tmp-") and name not in self.attempts_done
                and self.left.get(name.split("-", 2)[2], 0) > 0}

    def _kill_if_working_on(self, pid: int, attempts: dict[str, str]) -> None:
        def attempt_of(process: int) -> str | None:
            paths = files_in_use(process)
            return next((a for a in attempts if any(path.startswith(a) for path in paths)), None)

        if attempt_of(pid) is None:
            return
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        try:
            deadline = time.monotonic() + 5
            while not stopped(pid) and time.monotonic() < deadline:
                time.sleep(0.001)
            attempt = attempt_of(pid)  # frozen now: it cannot commit any more
            if attempt is not None and self.left[attempts[attempt]] > 0:
                self.niceness[pid] = os.getpriority(os.PRIO_PROCESS, pid)
                os.kill(pid, signal.SIGKILL)
                self.attempts_done.add(Path(attempt).name)
                self.left[attempts[attempt]] -= 1
                self.killed[attempts[attempt]].append(pid)
        finally:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith((".tmp-", ".trash-"))]


def assert_done_once(out: Path, keys=GOOD) -> None:
    """Each video done, listed once, with exactly its outputs (checksums as recorded), no temp files."""
    videos = manifest(out)["videos"]
    assert sorted(k for k, v in videos.items() if v["status"] == "done") == sorted(keys)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == sorted(folder_name(k) for k in keys) and not leftovers(out)
    for key in keys:
        entry, folder = videos[key], out / folder_name(key)
        stem = Path(key).stem
        assert sorted(entry["outputs"]) == sorted(
            [f"flow/{stem}.json", f"flow/{stem}.npy", f"{stem}_features.csv", f"{stem}_features.json",
             f"{stem}_features.npy"])
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == \
            sorted([*entry["outputs"], "done.json"])
        assert all(sha256_of(folder / name) == info["sha256"] for name, info in entry["outputs"].items())


def test_inputs_come_from_a_folder_or_a_list_with_unique_stable_folders(videos, tmp_path):
    items = find_batch_inputs(videos)
    assert [i.key for i in items] == ["a/clip.mp4", "b/clip.mp4", "broken.mp4", "pan.mkv"]
    assert [i.folder for i in items] == ["a__clip.mp4", "b__clip.mp4", "broken.mp4", "pan.mkv"]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two videos\n{videos}/b/clip.mp4\n\n{videos}/pan.mkv\n")
    assert [i.key for i in find_batch_inputs(listing)] == [f"{videos}/b/clip.mp4", f"{videos}/pan.mkv"]
    assert folder_name(f"{videos}/b/clip.mp4").endswith(tuple("0123456789abcdef"))  # absolute: hashed
    assert folder_name("x__y/z.mp4") != folder_name("x/y__z.mp4") != folder_name("x__y__z.mp4")
    assert folder_name("a b/c.mp4") == folder_name("a b/c.mp4") != folder_name("a_b/c.mp4")
    with pytest.raises(DFEError, match="no such folder or list file"):
        find_batch_inputs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DFEError, match="no videos"):
        find_batch_inputs(tmp_path / "empty")


def test_local_engine_does_a_folder_reports_the_corrupt_video_and_a_rerun_computes_nothing(local_run, videos,
                                                                                          registry):
    result, out = local_run
    assert result.returncode == 1, result.stderr  # one video failed, the others are done
    assert "computed       3" in result.stdout and "failed         1" in result.stdout
    assert "failed: broken.mp4: CorruptVideoError" in result.stderr and "Traceback" not in result.stderr
    assert "video/s" in result.stderr  # the progress bar
    assert_done_once(out)
    entries = manifest(out)["videos"]
    assert entries["broken.mp4"]["status"] == "failed" and "truncated" in entries["broken.mp4"]["reason"]
    done = entries["a/clip.mp4"]
    assert done["sha256"] == sha256_of(videos / "a" / "clip.mp4") and done["this_run"] == "computed"
    job = manifest(out)["job"]
    assert done["job"] == job["id"] and job["model"]["version"] == done["model_version"]
    assert job["config"]["flow"]["method"] == "dis" and job["flow_params"]["preset"] == "medium"
    index = json.loads((out / "a__clip.mp4" / "clip_features.json").read_text())
    assert index["fps"] == 25.0 and [w["first_frame"] for w in index["windows"]] == [0, 4]  # 13 flow frames
    assert np.load(out / "b__clip.mp4" / "clip_features.npy").shape == (6, 1024)  # windows at 0, 8, ..., 40
    assert np.load(out / "pan.mkv" / "flow" / "pan.npy").shape == (VICTIM_FRAMES - 1, 224, 224, 2)  # short: kept
    run = read_features_hdf5(out / "features.h5")  # the run's features in one file, a group per folder
    assert sorted(run) == ["a__clip.mp4", "b__clip.mp4", "pan.mkv"]
    np.testing.assert_array_equal(run["b__clip.mp4"].features, np.load(out / "b__clip.mp4" / "clip_features.npy"))
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.parent != out}

    (out / "manifest.json").unlink()  # as if the driver had crashed: the done records are the truth
    listing = videos / "good.txt"  # a list in the folder gives the same keys, so the same outputs
    listing.write_text("a/clip.mp4\nb/clip.mp4\n# no broken one\npan.mkv\n")
    models, config = registry
    again = run_cli("batch", "--videos", str(listing), "--output_dir", str(out), "--model_dir", str(models),
                    "--config", str(config), "--quiet")
    listing.unlink()
    assert again.returncode == 0, again.stderr
    assert "0 computed, 3 skipped), 0 failed" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert {k: v["this_run"] for k, v in manifest(out)["videos"].items()} == dict.fromkeys(GOOD, "skipped")


def test_bad_arguments_give_one_line_and_exit_2(videos, registry, tmp_path):
    models, config = registry
    common = ["--output_dir", str(tmp_path / "out"), "--model_dir", str(models), "--config", str(config)]
    missing = run_cli("batch", "--videos", str(tmp_path / "nope"), *common)
    assert missing.returncode == 2 and "no such folder or list file" in missing.stderr
    local_address = run_cli("batch", "--videos", str(tmp_path), "--address", "auto", *common)
    assert local_address.returncode == 2 and "options of --engine ray" in local_address.stderr
    unknown = run_cli("batch", "--videos", str(videos), "--model_version", "v0", *common)
    assert unknown.returncode == 2 and "unknown version or alias 'v0'" in unknown.stderr
    (tmp_path / "out").mkdir()
    with output_lock(tmp_path / "out"):
        second = run_cli("batch", "--videos", str(videos), *common)
    assert second.returncode == 2 and "another batch run is writing to" in second.stderr


def test_killed_local_workers_end_with_every_video_done_once_or_failed_and_changed_inputs_are_redone(
        registry, tmp_path):
    models, config = registry
    folder = make_videos(tmp_path / "videos")
    (folder / "broken.mp4").unlink()
    spec = batch_spec(tmp_path / "out", models, "default", load_config(config))
    with WorkerKiller(tmp_path / "out", {"b__clip.mp4": 1, "pan.mkv": 3}) as killer:
        report = run_batch(spec, find_batch_inputs(folder), LocalEngine(workers=2, max_retries=1))
    # b/clip.mp4 died once and was redone; pan.mkv died twice alone (a death beside another video in
    # flight counts against neither), so it failed, after two or three deaths
    assert len(killer.killed["b__clip.mp4"]) == 1 and len(killer.killed["pan.mkv"]) in (2, 3), \
        (killer.killed, report.entries)
    assert sorted(report.keys("computed")) == ["a/clip.mp4", "b/clip.mp4"] and report.keys("failed") == ["pan.mkv"], \
        (killer.killed, report.entries)
    assert report.entries["pan.mkv"]["reason"].startswith("WorkerDied: a worker process died on this video 2 times")
    assert_done_once(tmp_path / "out", keys=("a/clip.mp4", "b/clip.mp4"))
    assert int(manifest(tmp_path / "out")["videos"]["b/clip.mp4"]["worker"].rsplit(":", 1)[1]) not in \
        killer.killed["b__clip.mp4"]

    make_demo_video(folder / "b" / "clip.mp4", num_frames=14, size=(160, 120), seed=3)  # new content
    os.utime(folder / "a" / "clip.mp4")  # same content, new time: hashed again, not recomputed
    again = run_batch(spec, find_batch_inputs(folder), LocalEngine(workers=1))
    assert sorted(again.keys("computed")) == ["b/clip.mp4", "pan.mkv"] and again.keys("skipped") == ["a/clip.mp4"]
    assert manifest(tmp_path / "out")["videos"]["b/clip.mp4"]["sha256"] == sha256_of(folder / "b" / "clip.mp4")
    assert_done_once(tmp_path / "out")


def test_ray_engine_on_a_local_cluster_survives_a_killed_worker(ray_cluster, local_run, videos, registry, tmp_path):
    models, config = registry
    out = tmp_path / "out"
    with WorkerKiller(out, {"pan.mkv": 1}) as killer:
        result = run_cli("batch", "--videos", str(videos), "--output_dir", str(out), "--engine", "ray",
                         "--address", ray_cluster, "--workers", "2", "--model_dir", str(models), "--config",
                         str(config), "--quiet")
    assert result.returncode == 1, result.stderr
    assert "3 done (3 computed, 0 skipped), 1 failed" in result.stdout and "2 actor(s) x 1 CPU(s)" in result.stdout
    assert "failed: broken.mp4: CorruptVideoError" in result.stderr
    assert_done_once(out)
    # the actor killed on pan.mkv was restarted by Ray, in a new process that did the video again
    assert len(killer.killed["pan.mkv"]) == 1, killer.killed
    assert int(manifest(out)["videos"]["pan.mkv"]["worker"].rsplit(":", 1)[1]) not in killer.killed["pan.mkv"]
    # the actors ran at this process's priority, not Ray's default niceness 15 that starves them beside other work
    assert list(killer.niceness.values()) == [os.getpriority(os.PRIO_PROCESS, 0)]
    ray_outputs = manifest(out)["videos"]
    local_outputs = manifest(local_run[1])["videos"]
    for key in GOOD:  # the same bytes as the local engine's
        assert ray_outputs[key]["outputs"] == local_outputs[key]["outputs"]


def test_long_videos_keep_no_flow_unless_asked():
    spec = BatchSpec("out", "models", "v1", "0" * 64, load_config(None))
    assert spec.storage_for(LONG_VIDEO_S) == "npy" and spec.storage_for(LONG_VIDEO_S + 1) == "none"
    assert BatchSpec("out", "models", "v1", "0" * 64, load_config(None), flow_storage="npy16").storage_for(3600) == "npy16"
    assert spec.job()["flow_storage"] == "auto"  # part of the job: a run with another choice recomputes


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_a_killed_batch_driver_leaves_no_worker_and_the_rerun_finishes_the_rest(registry, tmp_path):
    from test_jobs import pool_workers, survivors
    models, config = registry
    folder = make_videos(tmp_path / "videos")
    (folder / "broken.mp4").unlink()
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "core", "batch", "--videos", str(folder), "--output_dir",
                               str(out), "--workers", "2", "--model_dir", str(models), "--config", str(config)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".tmp-*")) and time.monotonic() < deadline:  # a worker is mid-video
            time.sleep(0.05)
        workers = pool_workers(driver.pid)
        assert workers and list(out.glob(".tmp-*"))
    finally:
        driver.kill()
        driver.wait()
    assert survivors(workers) == [], "a batch worker outlived its SIGKILLed driver"
    rerun = run_cli("batch", "--videos", str(folder), "--output_dir", str(out), "--workers", "2",
                    "--model_dir", str(models), "--config", str(config))
    assert rerun.returncode == 0, rerun.stderr
    assert_done_once(out, keys=("a/clip.mp4", "b/clip.mp4", "pan.mkv"))
    assert not list(out.glob(".tmp-*"))  # the killed attempt's temporary folder is gone
