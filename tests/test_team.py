"""A team on one served dashboard, in a real browser: two users (ann, bob), each in their own browser
context, signed in to one server started as `scripts/serve.sh` starts it (the supervisor, login on,
two job workers).

They upload files of one name at the same moment (both kept, each with its owner's bytes); bob cannot
see ann's private video; bob's short DIS job finishes within 15 s while ann's long TV-L1 job runs,
and ann cancels hers. Then the server is killed mid-job (SIGKILL: no worker survives it, the restarted
server marks the job interrupted and leaves no temporary file) and stopped mid-job (SIGTERM: it exits
within its grace period, the job marked interrupted). Skipped like `tests/test_browser.py`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, free_port, wait_until_healthy
from test_browser import CHROMIUM, CHROMIUM_ARGS, open_page, playwright
from test_jobs import alive, children, pool_workers, survivors
from core.app.jobs import JobStore
from core.app.users import UserDirectory
from core.app.workspace import Workspace
from core.video.synthetic import make_demo_video

PASSWORDS = {"ann": "ann-secret-1", "bob": "bob-secret-1"}
GRACE_S = 8


class Server:
    """The dashboard under the supervisor, as `scripts/serve.sh` runs it, on a free port."""

    def __init__(self, workspace, registry_dir, users_file, log) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DFE_WORKSPACE": str(workspace), "DFE_MODEL_DIR": str(registry_dir),
               "DFE_USERS_FILE": str(users_file), "DFE_JOB_WORKERS": "2", "DFE_DEMO_RESULTS": "0"}
        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "core.app.supervisor", "--grace_s", str(GRACE_S), "--",
             sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.port", str(self.port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)
        wait_until_healthy(self.url, self.supervisor)
        [self.streamlit] = children(self.supervisor.pid)

    def stop(self) -> None:
        if self.supervisor.poll() is None:
            self.supervisor.kill()
            os.kill(self.streamlit, signal.SIGKILL) if alive(self.streamlit) else None
            self.supervisor.wait()


def sign_in(browser, url: str, name: str):
    """A new browser context (its own cookies and session) signed in as `name`; returns its page."""
    page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Library").wait_for()
    return page


def start_flow(page, method: str) -> None:
    """On the Optical flow page (open on the user's last upload): compute flow with `method`."""
    open_page(page, "Optical flow", "Optical flow")
    page.get_by_role("combobox", name="Method").click()  # Streamlit's select box: open it, pick the option
    page.get_by_role("option", name=method, exact=True).click()
    page.get_by_role("button", name="Compute flow").click()


def wait_for_status(store: JobStore, status: str, seconds: float = 120) -> str:
    """The id of the one job that reaches `status` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [s.id for s in store.list() if s.status == status]
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no job became {status} in {seconds} s: {[(s.kind, s.status) for s in store.list()]}")


def temporary_files(workspace) -> list:
    return [p for p in workspace.rglob(".*") if p.name.startswith((".tmp-", ".upload-")) or p.name.endswith(".tmp")]


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads processes from /proc (Linux)")
def test_two_users_share_a_server_without_losing_waiting_on_or_seeing_each_other(tmp_path, registry_dir):
    users = UserDirectory(tmp_path / "users.yaml")
    for name, password in PASSWORDS.items():
        users.add(name, password)
    workspace = Workspace(tmp_path / "workspace")
    uploads = {"ann": make_demo_video(tmp_path / "ann" / "clip.mp4", num_frames=150),  # long for TV-L1
               "bob": make_demo_video(tmp_path / "bob" / "clip.mp4", num_frames=12, seed=3)}
    store = JobStore(workspace.jobs_dir)
    server = Server(workspace.root, registry_dir, users.path, tmp_path / "server.log")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = {name: sign_in(browser, server.url, name) for name in PASSWORDS}

            # Same name, same moment: both kept, each with its owner's bytes.
            for page in pages.values():
                open_page(page, "Upload", "Upload")
            for name, page in pages.items():
                page.locator("input[type=file]").set_input_files(str(uploads[name]))
            for page in pages.values():
                page.get_by_text("clip.mp4 added as").wait_for()
            owned = {workspace.ownership(v).owner: v for v in workspace.videos()}  # "": the team's demo
            assert sorted(v.name for v in owned.values()) == ["clip.mp4", "clip_1.mp4", "demo.mp4"]
            assert all(owned[name].read_bytes() == uploads[name].read_bytes() for name in PASSWORDS)

            # bob sees his video, not ann's private one, and has nothing to delete but his own.
            bob = pages["bob"]
            open_page(bob, "Library", "Library")
            bob.get_by_text(owned["bob"].name, exact=True).wait_for()
            bob.get_by_text("Added by the team · shared with the team").wait_for()  # the last card: all drawn
            assert bob.get_by_text(owned["ann"].name, exact=True).count() == 0
            assert bob.get_by_text("2 video(s) you can see").count() == 1  # his and the team's demo
            assert bob.get_by_role("button", name="Delete").count() == 1  # his own only

            # ann's long TV-L1 job runs; bob's short DIS job does not wait behind it.
            start_flow(pages["ann"], "tvl1")
            long_job = wait_for_status(store, "running")
            submitted = time.monotonic()
            start_flow(bob, "dis")
            bob.get_by_text("11 flow frames at").wait_for(timeout=30_000)
            short_s = time.monotonic() - submitted
            assert short_s < 15, f"bob's DIS job took {short_s:.1f} s behind ann's TV-L1 job"
            assert store.get(long_job).status == "running"
            print(f"bob's DIS job: {short_s:.1f} s from submission to result, beside ann's TV-L1 job")

            # ann cancels hers: it stops within seconds and leaves no flow behind.
            pages["ann"].get_by_role("button", name="Cancel").click()
            pages["ann"].get_by_text("Cancelled").wait_for(timeout=15_000)
            assert store.get(long_job).status == "cancelled"
            assert not list(workspace.flow_dir("tvl1").glob(f"{owned['ann'].name}*"))

            # SIGKILL of the server mid-job: its workers die with it; the next start marks the job.
            pages["ann"].get_by_role("button", name="Compute flow").click()
            killed_job = wait_for_status(store, "running")
            workers = pool_workers(server.streamlit)
            assert workers
            os.kill(server.streamlit, signal.SIGKILL)
            assert survivors(workers) == [], "a job worker outlived its SIGKILLed server"
            server.stop()
            server = Server(workspace.root, registry_dir, users.path, tmp_path / "server.log")
            ann = sign_in(browser, server.url, "ann")  # the first page run starts the job runner
            ann.get_by_text("2 video(s) you can see").wait_for()
            assert store.get(killed_job).status == "interrupted"
            assert temporary_files(workspace.root) == []

            # SIGTERM mid-job: the job is interrupted and the server exits within its grace period.
            start_flow(ann, "tvl1")
            stopped_job = wait_for_status(store, "running")
            server.supervisor.terminate()
            # 0 only if the server ended by the SIGTERM: one killed after the grace period makes it 247 (-9).
            assert server.supervisor.wait(timeout=GRACE_S + 20) == 0, "the server was killed after its grace period"
            assert store.get(stopped_job).status == "interrupted"
            assert not alive(server.streamlit)
        finally:
            browser.close()
            server.stop()
