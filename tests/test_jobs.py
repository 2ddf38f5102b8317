"""The background job runner: a worker process, state on disk, progress, errors, de-duplication,
restarts, and a worker that dies."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from core.common.process import child_pids
from core.errors import DFEError
from core.app.jobs import JobRunner, JobState, JobStore, fair_order, time_left
from core.batch.ray_engine import connect_ray



def counting(params, progress):
    for i in range(1, params["n"] + 1):
        progress(i, params["n"], "counting")
    return {"sum": params["n"] * (params["n"] + 1) // 2, "pid": os.getpid(),
            "niceness": os.getpriority(os.PRIO_PROCESS, 0)}


def staged(params, progress):
    """Two stages: 3 flow items reported from 0, then 2 feature items reported from 1, taking turns
    with 2 more flow items (of a new total, 5)."""
    for i in range(4):
        progress(i, 3, "flow")
    progress(1, 2, "features")
    progress(4, 5, "flow")
    progress(2, 2, "features")
    progress(5, 5, "flow")
    return {}


def failing(params, progress):
    raise DFEError("the video is truncated")


def buggy(params, progress):
    return {}["missing"]


def blocking(params, progress):
    """Runs until the file `params["gate"]` exists (or dies there when asked)."""
    progress(0, 1, "waiting")
    while not Path(params["gate"]).exists():
        time.sleep(0.02)
    if params.get("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    return {"ok": True}


def writing(params, progress):
    """Writes `params["target"]` atomically, reporting progress until `params["gate"]` exists."""
    from core.common.atomic import atomic_path
    with atomic_path(params["target"]) as tmp:
        tmp.write_bytes(b"half")
        tick = 0
        while not Path(params["gate"]).exists():
            tick += 1
            progress(tick, None, "writing")
            time.sleep(0.02)
    return {"ok": True}


def logging(params, progress):
    """Appends `params["name"]` to the file `params["log"]`: the order jobs ran in."""
    with open(params["log"], "a") as log:
        log.write(params["name"] + "\n")
    return {}


def kinds(prefix: str = "") -> dict:
    """The job kinds of these tests, built in the worker process (which imports this module)."""
    return {f"{prefix}count": counting, f"{prefix}fail": failing, f"{prefix}bug": buggy, f"{prefix}block": blocking,
            f"{prefix}write": writing, f"{prefix}log": logging, f"{prefix}stages": staged}


@pytest.fixture()
def runner(tmp_path):
    runner = JobRunner(tmp_path, kinds)
    yield runner
    runner.close()


def test_jobs_run_in_a_worker_process_and_leave_their_state_on_disk(runner, tmp_path):
    done = runner.wait(runner.submit("count", {"n": 50}).id)
    assert done.status == "done" and done.result["sum"] == 1275 and done.result["pid"] != os.getpid()
    assert done.done == done.total == 50 and done.fraction == 1.0 and done.stage == "counting"
    again = runner.wait(runner.submit("count", {"n": 3}).id)
    assert again.result["pid"] == done.result["pid"]  # one worker, kept between jobs (models stay loaded)
    reopened = JobRunner(tmp_path, kinds)  # e.g. after a page reload or a new session
    assert reopened.get(done.id).result["sum"] == 1275
    assert reopened.find("count", {"n": 50}).id == done.id


def test_the_factory_gets_the_runner_arguments(tmp_path):
    runner = JobRunner(tmp_path, kinds, "x_")
    try:
        assert runner.wait(runner.submit("x_count", {"n": 2}).id).result["sum"] == 3
    finally:
        runner.close()


def test_failures_are_one_clear_line(runner, tmp_path):
    assert runner.wait(runner.submit("fail", {}).id).message == "the video is truncated"
    bug = runner.wait(runner.submit("bug", {}).id)
    assert bug.status == "failed" and "KeyError" in bug.message and "Traceback" not in bug.message
    assert (tmp_path / bug.id / "error.log").read_text().startswith("Traceback")
    assert "unknown job kind 'nope'" in runner.wait(runner.submit("nope", {}).id).message


def test_an_identical_running_job_is_reused(runner, tmp_path):
    gate = tmp_path / "open"
    first = runner.submit("block", {"gate": str(gate), "video": "a.mp4"})
    assert runner.submit("block", {"gate": str(gate), "video": "a.mp4"}).id == first.id
    other = runner.submit("block", {"gate": str(gate), "video": "b.mp4"})
    assert other.id != first.id
    gate.touch()
    assert runner.wait(other.id).status == "done"
    assert runner.submit("block", {"gate": str(gate), "video": "a.mp4"}).id != first.id  # finished: a new run


def test_a_dead_worker_fails_its_job_and_the_next_job_gets_a_new_one(runner, tmp_path):
    gate = tmp_path / "open"
    gate.touch()
    killed = runner.wait(runner.submit("block", {"gate": str(gate), "die": True}).id)
    assert killed.status == "failed" and "worker stopped" in killed.message
    assert runner.wait(runner.submit("count", {"n": 4}).id).result["sum"] == 10


def test_jobs_orphaned_by_a_stopped_server_are_marked_interrupted(runner, tmp_path):
    state = runner.get(runner.wait(runner.submit("count", {"n": 1}).id).id)
    state.status = "running"
    runner._write(state)
    again = JobRunner(tmp_path, kinds).get(state.id)
    assert again.status == "interrupted" and "start it again" in again.message


SERVER = """
import sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
from core.app.jobs import JobRunner, JobState, JobStore, fair_order, time_left
from test_jobs import kinds
runner = JobRunner(sys.argv[1], kinds)
print(runner.submit("block", {"gate": sys.argv[2]}).id, flush=True)
time.sleep(600)
"""


def children(parent: int, command_part: bytes = b"") -> list[int]:
    """Live processes whose parent is `parent` and whose command line holds `command_part`."""
    found = []
    for pid in child_pids(parent):
        try:
            if command_part in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def pool_workers(parent: int) -> list[int]:
    """Live multiprocessing pool workers of `parent`."""
    return children(parent, b"spawn_main")


def survivors(pids: list[int], seconds: float = 10.0) -> list[int]:
    """The processes of `pids` still alive after waiting up to `seconds` for all of them to end."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_a_killed_server_leaves_no_worker_behind_and_its_job_is_marked_interrupted(tmp_path):
    import subprocess
    import sys
    tests = Path(__file__).parent
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path / "jobs"), str(tmp_path / "never"),
                               str(tests.parent), str(tests)], stdout=subprocess.PIPE, text=True)
    try:
        job_id = server.stdout.readline().strip()
        store = JobStore(tmp_path / "jobs")  # reads state, starts nothing
        deadline = time.monotonic() + 120
        while store.get(job_id).status != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = pool_workers(server.pid)
        assert store.get(job_id).status == "running" and len(workers) == 1
    finally:
        server.kill()
        server.wait()
    assert survivors(workers) == [], "the job worker outlived its SIGKILLed server"
    assert store.get(job_id).status == "running"  # the dead worker wrote nothing after its server died
    assert JobRunner(tmp_path / "jobs", kinds).get(job_id).status == "interrupted"


def test_a_short_job_runs_beside_a_long_one_and_jobs_can_be_cancelled(tmp_path):
    runner = JobRunner(tmp_path / "jobs", kinds, workers=2)
    try:
        target = tmp_path / "out.bin"
        long = runner.submit("write", {"gate": str(tmp_path / "never"), "target": str(target)})
        short = runner.wait(runner.submit("count", {"n": 3}).id, timeout=60)
        assert short.status == "done" and runner.get(long.id).status == "running"
        started = time.monotonic()
        runner.cancel(long.id)
        cancelled = runner.wait(long.id, timeout=10)
        assert cancelled.status == "cancelled" and time.monotonic() - started < 5
        assert not target.exists() and not list(tmp_path.glob(".tmp-*"))  # nothing half-written kept
        again = runner.submit("write", {"gate": str(tmp_path / "never"), "target": str(target)})
        assert again.id != long.id  # a cancelled job is not reused for the same request
        runner.cancel(again.id)
        runner.wait(again.id, timeout=10)
    finally:
        runner.close()


def test_a_queued_job_cancelled_never_runs(tmp_path):
    runner = JobRunner(tmp_path / "jobs", kinds, workers=1)
    try:
        gate = tmp_path / "gate"
        blocker = runner.submit("block", {"gate": str(gate)})
        queued = runner.submit("count", {"n": 2})
        assert runner.cancel(queued.id).status == "cancelled" == runner.get(queued.id).status  # at once
        gate.touch()
        assert runner.wait(blocker.id).status == "done"
        runner.wait(runner.submit("count", {"n": 1}).id)  # the worker has passed the cancelled job by now
        assert runner.get(queued.id).status == "cancelled" and runner.get(queued.id).result == {}
    finally:
        gate.touch()  # close() waits for a running job
        runner.close()


def queued(job_id: str, owner: str, created: str) -> JobState:
    return JobState(job_id, "count", {}, job_id, owner=owner, created=created)


def test_the_fair_queue_serves_users_in_turn_then_by_age():
    a1, a2, a3 = (queued(f"a{i}", "ann", f"2026-01-01T00:00:0{i}") for i in (1, 2, 3))
    b1 = queued("b1", "bob", "2026-01-01T00:00:05")
    c1 = queued("c1", "cy", "2026-01-01T00:00:04")
    # ann is first in line, then whoever has fewer jobs out: bob's and cy's one job before ann's second
    assert [s.id for s in fair_order([a3, b1, a1, c1, a2], [])] == ["a1", "c1", "b1", "a2", "a3"]
    # ann already has two jobs running: the others go first
    assert [s.id for s in fair_order([a1, b1, c1], ["ann", "ann", "bob"])] == ["c1", "b1", "a1"]
    # nothing running: whoever was served longest ago (or never) goes first
    assert [s.id for s in fair_order([a1, a2, b1], [], {"ann": 7})] == ["b1", "a1", "a2"]
    assert [s.id for s in fair_order([a1, b1, c1], [], {"ann": 7, "bob": 8, "cy": 9})] == ["a1", "b1", "c1"]


def test_time_left_follows_the_pace_of_the_current_stage(runner):
    state = JobState("j", "count", {}, "j", status="running", done=10, total=40, stage="flow",
                     started="2025-12-31T23:00:00+00:00", paces={"flow": ["2026-01-01T00:00:00+00:00", 0, 40]})
    start = 1767225600.0  # 2026-01-01T00:00:00Z, the stage's first report
    assert time_left(state, now=start + 20) == pytest.approx(60.0)  # 10 items in 20 s: 30 more take 60 s
    state.paces["flow"][1] = 5  # the stage first reported 5 done (e.g. after loading a model): 5 items in 20 s
    assert time_left(state, now=start + 20) == pytest.approx(120.0)
    state.done = 5
    assert time_left(state, now=start + 20) is None  # no pace yet
    state.stage = "features"
    assert time_left(state, now=start + 20) is None  # a stage that has not reported
    done = runner.wait(runner.submit("stages", {}).id)
    assert (done.status, done.stage, done.done) == ("done", "flow", 5)
    # each stage paced from its own first report; flow's again when its total changed
    assert {stage: pace[1:] for stage, pace in done.paces.items()} == {"flow": [4, 5], "features": [1, 2]}
    assert all(done.started <= pace[0] for pace in done.paces.values())


def test_a_user_s_one_job_does_not_wait_behind_another_user_s_many(tmp_path):
    runner = JobRunner(tmp_path / "jobs", kinds, workers=1)
    gate = tmp_path / "gate"
    try:
        log = tmp_path / "order.txt"
        first = runner.submit("block", {"gate": str(gate)}, owner="ann")
        ann = [runner.submit("log", {"log": str(log), "name": f"ann{i}"}, owner="ann") for i in (1, 2, 3)]
        bob = runner.submit("log", {"log": str(log), "name": "bob"}, owner="bob")
        assert [runner.queue_position(s.id) for s in [bob, *ann]] == [1, 2, 3, 4]
        assert runner.queue_position(first.id) is None  # running, not waiting
        assert runner.handed_to_worker(first.id) and not any(runner.handed_to_worker(s.id) for s in [bob, *ann])
        gate.touch()
        assert all(runner.wait(s.id).status == "done" for s in [first, bob, *ann])
        assert log.read_text().split() == ["bob", "ann1", "ann2", "ann3"]
    finally:
        gate.touch()
        runner.close()


def test_stopping_the_server_interrupts_running_and_queued_jobs(tmp_path):
    runner = JobRunner(tmp_path / "jobs", kinds, workers=1)
    try:
        target = tmp_path / "out.bin"
        running = runner.submit("write", {"gate": str(tmp_path / "never"), "target": str(target)}, owner="ann")
        waiting = runner.submit("count", {"n": 3}, owner="bob")
        deadline = time.monotonic() + 60
        while runner.get(running.id).status != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        assert sorted(runner.interrupt_active()) == sorted([running.id, waiting.id])
        assert runner.get(waiting.id).status == "interrupted"  # at once
        stopped = runner.wait(running.id, timeout=10)
        assert stopped.status == "interrupted" and time.monotonic() - started < 5
        assert not target.exists() and runner.get(waiting.id).result == {}
    finally:
        runner.close()


GRACEFUL_SERVER = """
import signal, sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
from core.app.jobs import JobRunner
from test_jobs import kinds
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as Streamlit: stop serving, then exit normally
runner = JobRunner(sys.argv[1], kinds)
print(runner.submit("write", {"gate": sys.argv[2], "target": sys.argv[2] + ".out"}).id, flush=True)
runner.submit("count", {"n": 2})
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_sigterm_interrupts_the_server_s_jobs_and_it_exits_within_the_grace_period(tmp_path):
    import subprocess
    import sys
    tests = Path(__file__).parent
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "core.app.supervisor", "--grace_s", "8", "--", sys.executable, "-c", GRACEFUL_SERVER,
         str(tmp_path / "workspace" / "jobs"), str(tmp_path / "never"), str(tests.parent), str(tests)],
        cwd=tests.parent, env={**os.environ, "DFE_WORKSPACE": str(tmp_path / "workspace")},
        stdout=subprocess.PIPE, text=True)
    try:
        job_id = supervisor.stdout.readline().strip()
        store = JobStore(tmp_path / "workspace" / "jobs")
        deadline = time.monotonic() + 120
        while store.get(job_id).status != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        [server] = children(supervisor.pid)
        workers = pool_workers(server)
        assert store.get(job_id).status == "running" and workers
        started = time.monotonic()
        supervisor.terminate()
        assert supervisor.wait(timeout=15) == 0
        assert time.monotonic() - started < 8, "the server needed the SIGKILL: its running job did not stop"
    finally:
        supervisor.kill()
    states = store.list()
    assert [s.status for s in states] == ["interrupted", "interrupted"]  # the running job and the queued one
    assert all("start it again" in s.message for s in states)
    assert not (tmp_path / "never.out").exists() and not list(tmp_path.glob(".tmp-*"))
    assert not any(alive(pid) for pid in workers + [server])


def test_jobs_run_on_ray_actors_when_the_setting_says_so(tmp_path, monkeypatch):
    import ray
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # the actors import this module's kinds
    connect_ray(num_cpus=2)
    runner = JobRunner(tmp_path / "jobs", kinds, workers=2, ray_address="")
    try:
        done = runner.wait(runner.submit("count", {"n": 5}).id, timeout=120)
        assert done.status == "done" and done.result["sum"] == 15 and done.result["pid"] != os.getpid()
        assert done.result["niceness"] == os.getpriority(os.PRIO_PROCESS, 0)  # not Ray's default 15
        long = runner.submit("write", {"gate": str(tmp_path / "never"), "target": str(tmp_path / "out.bin")})
        short = runner.wait(runner.submit("count", {"n": 2}).id, timeout=60)  # beside the long one
        assert short.status == "done" and runner.get(long.id).status == "running"
        runner.cancel(long.id)
        assert runner.wait(long.id, timeout=10).status == "cancelled" and not (tmp_path / "out.bin").exists()
        failed = runner.wait(runner.submit("fail", {}).id, timeout=60)
        assert failed.status == "failed" and failed.message == "the video is truncated"
    finally:
        runner.close()
        ray.shutdown()


def test_sigterm_stops_the_server_even_when_its_jobs_cannot_be_marked(tmp_path):
    import subprocess
    import sys
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "jobs").write_text("not a folder")  # the jobs folder cannot be made
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "core.app.supervisor", "--grace_s", "8", "--", sys.executable, "-c",
         "import time; print('up', flush=True); time.sleep(600)"],
        cwd=Path(__file__).parent.parent, env={**os.environ, "DFE_WORKSPACE": str(workspace)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert supervisor.stdout.readline() == "up\n"
    [server] = children(supervisor.pid)
    supervisor.terminate()
    assert supervisor.wait(timeout=15) == 0
    assert "could not mark the jobs interrupted" in supervisor.stderr.read()
    assert survivors([server]) == []


def test_a_job_submitted_after_another_starts_when_it_has_finished(tmp_path):
    runner = JobRunner(tmp_path / "jobs", kinds, workers=2)
    gate, log = tmp_path / "gate", tmp_path / "order.txt"
    try:
        first = runner.submit("block", {"gate": str(gate)})
        second = runner.submit("log", {"log": str(log), "name": "second"}, after=first.id)
        other = runner.wait(runner.submit("log", {"log": str(log), "name": "other"}).id)  # the free worker
        assert other.status == "done" and runner.get(second.id).status == "queued"
        assert runner.queue_position(second.id) is None  # waiting for `first`, not in line
        assert runner.handed_to_worker(first.id) and not runner.handed_to_worker(second.id)
        gate.touch()
        assert runner.wait(second.id).status == "done" and log.read_text().split() == ["other", "second"]
    finally:
        gate.touch()
        runner.close()
