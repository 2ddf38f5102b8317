"""Twenty users at once on one served dashboard, on loopback: simulated sessions speaking Streamlit's
websocket protocol (`benchmarks/load_sessions.py`) browse every page and press the flow page's job
button for 12 s. No page run may show an exception or an error box, every session must finish, a
flow job must complete (waited for after the sessions end: a slow machine may not finish one in 12 s)
and no job may fail. The two-minute run with its memory figures is the benchmark's (README)."""

from __future__ import annotations

from benchmarks.load_sessions import Server, load_test
from conftest import free_port, wait_for
from core.app.jobs import JobStore


def test_twenty_sessions_browse_and_submit_jobs_without_an_error(tmp_path, registry_dir):
    server = Server(tmp_path / "workspace", registry_dir, free_port(), tmp_path / "server.log")
    try:
        figures = load_test(server.url, server.pid, sessions=20, seconds=12)
        store = JobStore(tmp_path / "workspace" / "jobs")
        wait_for(lambda: any(job.kind == "flow" and job.status == "done" for job in store.list()), 300,
                 "a finished flow job")
    finally:
        server.stop()
    assert figures["errors"] == [] and figures["sessions_done"] == 20
    jobs = store.list()
    assert figures["jobs_submitted"] > 0
    assert [(job.kind, job.message) for job in jobs if job.status == "failed"] == []

