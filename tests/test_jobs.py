"""The background job runner: state on disk, progress, errors, de-duplication, restarts."""

from __future__ import annotations

import threading

import pytest

from core.errors import DFEError
from core.jobs import JobRunner


def counting(params, progress):
    for i in range(1, params["n"] + 1):
        progress(i, params["n"], "counting")
    return {"sum": params["n"] * (params["n"] + 1) // 2}


def failing(params, progress):
    raise DFEError("the video is truncated")


def buggy(params, progress):
    return {}["missing"]


def test_jobs_run_in_the_background_and_leave_their_state_on_disk(tmp_path):
    runner = JobRunner(tmp_path, {"count": counting})
    job = runner.submit("count", {"n": 50})
    done = runner.wait(job.id)
    assert done.status == "done" and done.result == {"sum": 1275}
    assert done.done == done.total == 50 and done.fraction == 1.0 and done.stage == "counting"
    reopened = JobRunner(tmp_path, {"count": counting})  # e.g. after a page reload or a new session
    assert reopened.get(job.id).result == {"sum": 1275}
    assert reopened.find("count", {"n": 50}).id == job.id


def test_failures_are_one_clear_line(tmp_path):
    runner = JobRunner(tmp_path, {"fail": failing, "bug": buggy})
    assert runner.wait(runner.submit("fail", {}).id).message == "the video is truncated"
    bug = runner.wait(runner.submit("bug", {}).id)
    assert bug.status == "failed" and "KeyError" in bug.message and "Traceback" not in bug.message
    assert (tmp_path / bug.id / "error.log").read_text().startswith("Traceback")
    with pytest.raises(DFEError, match="unknown job kind"):
        runner.submit("nope", {})


def test_an_identical_running_job_is_reused(tmp_path):
    release = threading.Event()

    def blocking(params, progress):
        release.wait(10)
        return {"ok": True}

    runner = JobRunner(tmp_path, {"block": blocking})
    first = runner.submit("block", {"video": "a.mp4"})
    assert runner.submit("block", {"video": "a.mp4"}).id == first.id
    other = runner.submit("block", {"video": "b.mp4"})
    assert other.id != first.id
    release.set()
    assert runner.wait(other.id).status == "done"
    assert runner.submit("block", {"video": "a.mp4"}).id != first.id  # finished: a new run


def test_jobs_orphaned_by_a_stopped_server_are_marked_failed(tmp_path):
    runner = JobRunner(tmp_path, {"count": counting})
    state = runner.get(runner.wait(runner.submit("count", {"n": 1}).id).id)
    state.status = "running"
    runner._write(state)
    assert "interrupted" in JobRunner(tmp_path, {"count": counting}).get(state.id).message
