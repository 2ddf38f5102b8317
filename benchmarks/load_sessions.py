"""How does one served dashboard hold up under a team? A load test on loopback.

`--sessions` simulated users browse the pages and submit small jobs (DIS flow of the demo video, on
the Optical flow page) for `--seconds`. Each speaks Streamlit's own websocket protocol as the browser
does: a rerun request with the page and the widget states (a button press is a trigger), the
server's messages back until the run finishes, and the one-second reruns of the progress fragments
the page asks for. The server runs as `scripts/serve.sh` runs it (the supervisor, login off, job
workers from the settings), on a new workspace. Reported: page runs and their latency, errors (an
exception or error box on a page, a run that did not finish, a dropped connection), jobs, and the
resident memory of the web server and of its job workers, sampled every second.

    .venv/bin/python -m benchmarks.load_sessions [--sessions 20] [--seconds 120] [--model_dir DIR]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.common import argument_parser, print_table, write_json
from core.app.jobs import JobStore
from core.app.settings import load_settings
from core.common.process import child_pids

ROOT = Path(__file__).resolve().parent.parent
BROWSED_PAGES = ("Library", "Optical flow", "Feature extraction", "Visualisation gallery", "Compare", "Evaluate",
                 "Model versions")
JOB_PAGE, JOB_BUTTON = "Optical flow", "Compute flow"


@dataclass
class PageRun:
    """What one rerun drew: `(element type, label or text, widget id)` per element, its errors."""

    elements: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fragments: dict[str, float] = field(default_factory=dict)  # fragment id -> rerun interval, s
    seconds: float = 0.0

    def widget(self, kind: str, label: str) -> str | None:
        return next((wid for k, text, wid in self.elements if k == kind and text == label and wid), None)


class Session:
    """One simulated browser tab on the server at `url` (http://host:port)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http", "ws", 1) + "/_stcore/stream"
        self.pages: dict[str, str] = {}  # page title -> page script hash
        self.socket = None

    async def connect(self) -> PageRun:
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
        return await self.run("")

    async def close(self) -> None:
        await self.socket.close()

    async def run(self, page: str, trigger: str | None = None, fragment: str = "",
                  timeout: float = 120.0) -> PageRun:
        """Rerun `page` (a title; "" for the default page), pressing the button `trigger` (a widget
        id), or only `fragment`; returns when the run has finished."""
        message = BackMsg()
        message.rerun_script.page_script_hash = self.pages.get(page, "")
        message.rerun_script.fragment_id = fragment
        message.rerun_script.is_auto_rerun = bool(fragment)
        if trigger:
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id, widget.trigger_value = trigger, True
        started = time.monotonic()
        await self.socket.send(message.SerializeToString())
        result = PageRun()
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await asyncio.wait_for(self.socket.recv(), timeout))
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in forward.navigation.app_pages}
            elif kind == "auto_rerun":
                result.fragments[forward.auto_rerun.fragment_id] = forward.auto_rerun.interval
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                element_kind = element.WhichOneof("type")
                body = getattr(element, element_kind)
                text = str(getattr(body, "label", "") or getattr(body, "body", ""))
                result.elements.append((element_kind, text, str(getattr(body, "id", ""))))
                if element_kind == "exception":
                    result.errors.append(f"exception: {body.type}: {body.message}")
                elif element_kind == "alert" and body.format == Alert.ERROR:
                    result.errors.append(f"error box: {body.body}")
            elif kind == "script_finished":
                status = forward.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    result.errors.append("the page script did not compile")
                if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # that one: our next request replaced it
                    break
        result.seconds = time.monotonic() - started
        return result


@dataclass
class Tally:
    """What all sessions did."""

    runs: list[float] = field(default_factory=list)  # page-run latencies, s
    fragment_runs: int = 0
    errors: list[str] = field(default_factory=list)
    jobs_submitted: int = 0
    sessions_done: int = 0


async def user(url: str, seconds: float, seed: int, tally: Tally, submit_every: int = 4) -> None:
    """One user: open the app, then visit pages in a random order, staying 1-2 s on each (with its
    progress fragments rerunning), pressing the job button on every `submit_every`-th job page visit."""
    rng = random.Random(seed)
    session = Session(url)
    deadline = time.monotonic() + seconds
    job_visits = 0
    try:
        first = await session.connect()
        tally.runs.append(first.seconds)
        tally.errors += first.errors
        while time.monotonic() < deadline:
            page = rng.choice(BROWSED_PAGES)
            shown = await session.run(page)
            trigger = shown.widget("button", JOB_BUTTON) if page == JOB_PAGE else None
            if trigger is not None:
                job_visits += 1
                if job_visits % submit_every == 1:
                    shown = await session.run(page, trigger=trigger)
                    tally.jobs_submitted += 1
            tally.runs.append(shown.seconds)
            tally.errors += [f"{page}: {error}" for error in shown.errors]
            stay_until = time.monotonic() + rng.uniform(1.0, 2.0)
            while shown.fragments and time.monotonic() < stay_until:
                await asyncio.sleep(min(shown.fragments.values()))
                for fragment in list(shown.fragments):
                    rerun = await session.run(page, fragment=fragment)
                    tally.fragment_runs += 1
                    tally.errors += [f"{page} (progress): {error}" for error in rerun.errors]
            await asyncio.sleep(max(0.0, stay_until - time.monotonic()))
        await session.close()
        tally.sessions_done += 1
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as error:
        tally.errors.append(f"session {seed}: {type(error).__name__}: {error}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemorySampler(threading.Thread):
    """Every second: the web server's resident memory and the sum of its job workers'."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.samples: list[tuple[float, float, float]] = []  # (time, server MB, workers MB)
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopped.wait(1.0):
            workers = sum(rss_mb(pid) for pid in child_pids(self.server_pid))
            self.samples.append((time.monotonic() - start, rss_mb(self.server_pid), workers))


class Server:
    """The dashboard under the supervisor (as `scripts/serve.sh` runs it) on a free local port."""

    def __init__(self, workspace: Path, model_dir: Path, port: int, log: Path, workers: int = 2) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DFE_WORKSPACE": str(workspace), "DFE_MODEL_DIR": str(model_dir),
               "DFE_JOB_WORKERS": str(workers)}
        env.pop("DFE_USERS_FILE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.app.supervisor", "--", sys.executable, "-m", "streamlit", "run",
             str(ROOT / "dashboard" / "app.py"), "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log}") from None
                time.sleep(0.5)
        self.pid = child_pids(self.process.pid)[0]  # the web server under the supervisor

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def load_test(url: str, server_pid: int, sessions: int, seconds: float) -> dict:
    """Run `sessions` users for `seconds` against the server; returns the figures."""
    tally = Tally()
    sampler = MemorySampler(server_pid)
    sampler.start()

    async def everyone() -> None:
        await asyncio.gather(*(user(url, seconds, seed, tally) for seed in range(sessions)))

    asyncio.run(everyone())
    sampler.stopped.set()
    sampler.join()
    server = [mb for _, mb, _ in sampler.samples] or [0.0]
    workers = [mb for _, _, mb in sampler.samples] or [0.0]
    half = len(server) // 2
    return {"sessions": sessions, "seconds": seconds, "sessions_done": tally.sessions_done,
            "page_runs": len(tally.runs), "fragment_runs": tally.fragment_runs,
            "median_ms": 1000 * statistics.median(tally.runs) if tally.runs else 0.0,
            "p95_ms": 1000 * sorted(tally.runs)[int(0.95 * (len(tally.runs) - 1))] if tally.runs else 0.0,
            "errors": tally.errors, "jobs_submitted": tally.jobs_submitted,
            "server_mb_first": server[0], "server_mb_max_first_half": max(server[:half] or server),
            "server_mb_max_second_half": max(server[half:]), "server_mb_last": server[-1],
            "workers_mb_max": max(workers)}


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--model_dir", type=Path, default=None, help="registry (default: the settings')")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "workspace"
        server = Server(workspace, args.model_dir or load_settings().model_dir, args.port, Path(folder) / "server.log")
        try:
            figures = load_test(server.url, server.pid, args.sessions, args.seconds)
        finally:
            server.stop()
        jobs = JobStore(workspace / "jobs").list()
    statuses = {status: sum(j.status == status for j in jobs) for status in ("done", "failed", "interrupted")}
    print_table(["sessions", "seconds", "page runs", "progress reruns", "median ms", "p95 ms", "errors",
                 "job presses", "jobs done/failed", "server MB first", "max 1st half", "max 2nd half", "last",
                 "workers MB max"],
                [[figures["sessions"], f"{figures['seconds']:.0f}", figures["page_runs"], figures["fragment_runs"],
                  f"{figures['median_ms']:.0f}", f"{figures['p95_ms']:.0f}", len(figures["errors"]),
                  figures["jobs_submitted"], f"{statuses['done']}/{statuses['failed']}",
                  f"{figures['server_mb_first']:.0f}", f"{figures['server_mb_max_first_half']:.0f}",
                  f"{figures['server_mb_max_second_half']:.0f}", f"{figures['server_mb_last']:.0f}",
                  f"{figures['workers_mb_max']:.0f}"]])
    for error in figures["errors"][:20]:
        print("error:", error)
    write_json(args.json, {**figures, "jobs": statuses})


if __name__ == "__main__":
    main()
