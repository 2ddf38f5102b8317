"""Twenty users at once on one served dashboard, on loopback: simulated sessions speaking Streamlit's
websocket protocol (`benchmarks/load_sessions.py`) browse every page and press the flow page's job
button for 12 s. No page run may show an exception or an error box, every session must finish, a
flow job must complete (waited for after the sessions end: a slow machine may not finish one in 12 s)
and no job may fail. The two-minute run with its memory figures is the benchmark's (README)."""

from __future__ import annotations

import time

from benchmarks.load_sessions import Server, load_test
from conftest import free_port
from core.app.jobs import JobStore


def test_twenty_sessions_browse_and_submit_jobs_without_an_error(tmp_path, registry_dir):
    server = Server(tmp_path / "workspace", registry_dir, free_port(), tmp_path / "server.log")
    try:
        figures = load_test(server.url, server.pid, sessions=20, seconds=12)
        a_flow_job_done = wait_for_a_done_flow_job(JobStore(tmp_path / "workspace" / "jobs"))
    finally:
        server.stop()
    assert figures["errors"] == [] and figures["sessions_done"] == 20
    jobs = JobStore(tmp_path / "workspace" / "jobs").list()
    assert figures["jobs_submitted"] > 0 and a_flow_job_done
    assert [(job.kind, job.message) for job in jobs if job.status == "failed"] == []


def wait_for_a_done_flow_job(store: JobStore, seconds: float = 300) -> bool:
    """Whether a flow job in `store` is done within `seconds` (polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(job.kind == "flow" and job.status == "done" for job in store.list()):
            return True
        time.sleep(0.5)
    return False
