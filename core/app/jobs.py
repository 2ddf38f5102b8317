"""Background jobs with their state on disk, for the dashboard.

A job runs in a worker process of the runner, not in the script that asked for it, so a rerun, a
page switch or a closed browser tab never stops it. The web server itself never imports TensorFlow:
Streamlit clears Keras' global state after every script run, which would wreck (and slow down
tenfold) a model being built or trained in a thread of the server. Its state (`queued`, `running`,
`done`, `failed`), progress and result live in `<root>/<job id>/state.json`, written atomically by
the worker, so any page (or another user) can show them after a reload. Submitting a job identical
to one still queued or running returns that job instead of starting a second one.

A pool of `workers` processes (spawned as jobs need them) runs the jobs, so a short job does not wait
behind a long one while a worker is free; models stay loaded in a worker from one job to the next.
A queued or running job can be cancelled (`cancel`): a running one stops at its next progress report
(its atomic writes leave no partial files) and is marked `cancelled`; a queued one never starts. Job kinds come from a factory, a module-level function given to the
runner, called once in the worker with the runner's arguments: it returns
`{kind: function(params, progress) -> result dict}`.
If the worker dies (killed, out of memory), its job is marked failed and the next job gets a new one;
if the runner's process dies (even by SIGKILL), its worker exits within a second.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import threading
import time
import traceback
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.common.clock import utc_iso, utc_stamp
from core.common.atomic import write_json_atomic
from core.common.process import configure_process, exit_with_parent
from core.errors import DFEError, JobTimeoutError

JobFunction = Callable[[dict[str, Any], Callable[[int, int | None, str], None]], dict[str, Any]]
KindsFactory = Callable[..., dict[str, JobFunction]]
ACTIVE = ("queued", "running")
CANCEL_FLAG = "cancel"


class JobCancelledError(DFEError):
    """Raised inside a job (from its progress callback) when someone cancelled it."""


@dataclass
class JobState:
    """What a job is doing, as stored in `state.json`."""

    id: str
    kind: str
    params: dict[str, Any]
    key: str
    status: str = "queued"
    done: int = 0
    total: int | None = None
    stage: str = ""
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    updated: str = ""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE


def job_key(kind: str, params: dict[str, Any]) -> str:
    """Identifies identical requests: the kind and the parameters."""
    return hashlib.sha256(json.dumps([kind, params], sort_keys=True, default=str).encode()).hexdigest()[:16]


class JobStore:
    """The jobs' state files under `root`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, job_id: str) -> Path:
        return self.root / job_id / "state.json"

    def _write(self, state: JobState) -> None:
        state.updated = utc_iso()
        write_json_atomic(self._path(state.id), asdict(state))

    def get(self, job_id: str) -> JobState:
        """The stored state of a job."""
        try:
            return JobState(**json.loads(self._path(job_id).read_text()))
        except (OSError, ValueError, TypeError):
            raise DFEError(f"no job {job_id!r}") from None

    def list(self) -> list[JobState]:
        """Every job, newest first."""
        states = []
        for path in self.root.glob("*/state.json"):
            try:
                states.append(JobState(**json.loads(path.read_text())))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(states, key=lambda s: (s.created, s.id), reverse=True)

    def cancel_requested(self, job_id: str) -> bool:
        return (self.root / job_id / CANCEL_FLAG).exists()

    def find(self, kind: str, params: dict[str, Any]) -> JobState | None:
        """The newest job with this kind and these parameters, if any."""
        key = job_key(kind, params)
        return next((s for s in self.list() if s.key == key), None)


_worker_kinds: dict[str, JobFunction] = {}


def _load_kinds(parent_pid: int, factory: KindsFactory, args: tuple) -> None:
    """Worker process initializer: die with the runner's process, the process's settings, then the
    job kinds, once."""
    exit_with_parent(parent_pid)
    configure_process()
    _worker_kinds.update(factory(*args))


def _run_job(root: str, job_id: str) -> None:
    """In the worker process: run one job, keeping its state file up to date."""
    store = JobStore(root)
    state = store.get(job_id)
    if store.cancel_requested(job_id):
        state.status, state.message = "cancelled", "cancelled before it started"
        store._write(state)
        return
    state.status = "running"
    store._write(state)
    last_write = 0.0

    def progress(done: int, total: int | None, stage: str = "") -> None:
        nonlocal last_write
        state.done, state.total, state.stage = done, total, stage or state.stage
        if time.monotonic() - last_write > 0.25 or (total and done >= total):
            last_write = time.monotonic()
            if store.cancel_requested(job_id):
                raise JobCancelledError("cancelled")
            store._write(state)

    try:
        if state.kind not in _worker_kinds:
            raise DFEError(f"unknown job kind {state.kind!r}; known: {', '.join(_worker_kinds)}")
        state.result = _worker_kinds[state.kind](state.params, progress)
        state.status, state.message = "done", ""
    except JobCancelledError:
        state.status, state.message = "cancelled", "cancelled while it ran; nothing it was writing was kept"
    except DFEError as error:
        state.status, state.message = "failed", str(error)
    except Exception as error:  # a bug: keep the details for the log, show one line
        state.status = "failed"
        state.message = f"unexpected error ({type(error).__name__}: {error}); details in the job log"
        (store.root / job_id / "error.log").write_text(traceback.format_exc())
    store._write(state)


class JobRunner(JobStore):
    """Runs jobs in a pool of worker processes; state under `root` (see module docstring).

    Args:
        root: the jobs folder (e.g. `<workspace>/jobs`).
        kinds_factory: a module-level function (the worker imports it by name) returning
            `{kind: function(params, progress) -> dict}`; `progress(done, total, stage)`.
        factory_args: plain values (strings, numbers) passed to the factory in the worker.
        workers: the most worker processes at once (each loads its own models).
    """

    def __init__(self, root: str | os.PathLike, kinds_factory: KindsFactory, *factory_args: Any,
                 workers: int = 1) -> None:
        super().__init__(root)
        self._factory = (kinds_factory, factory_args)
        self._workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._mark_orphans_failed()

    def submit(self, kind: str, params: dict[str, Any]) -> JobState:
        """Queue a job (or return the identical one still queued or running)."""
        with self._lock:
            existing = self.find(kind, params)
            if existing is not None and not existing.finished:
                return existing
            state = JobState(f"{utc_stamp()}-{uuid.uuid4().hex[:6]}", kind, params, job_key(kind, params),
                             created=utc_iso())
            self._write(state)
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self._workers, multiprocessing.get_context("spawn"),
                                                 initializer=_load_kinds, initargs=(os.getpid(), *self._factory))
            pool = self._pool
            future = pool.submit(_run_job, str(self.root), state.id)
        future.add_done_callback(lambda done: self._after(state.id, done, pool))
        return state

    def _after(self, job_id: str, future: Future, pool: ProcessPoolExecutor) -> None:
        """A job whose worker died (or could not start) is failed; the next job gets a new worker."""
        error = future.exception()
        if error is None:
            return
        with self._lock:
            if self._pool is pool:
                self._pool = None
        state = self.get(job_id)
        if not state.finished:
            state.status = "failed"
            state.message = f"the job worker stopped ({type(error).__name__}: {error}); start the job again"
            self._write(state)

    def cancel(self, job_id: str) -> JobState:
        """Ask a queued or running job to stop (see module docstring); returns its state now. A job
        that already finished is left as it is."""
        state = self.get(job_id)
        if not state.finished:
            (self.root / job_id / CANCEL_FLAG).touch()
        if state.status == "queued":  # shown at once; the worker that picks it up ends it without running it
            state.status, state.message = "cancelled", "cancelled before it started"
            self._write(state)
        return state

    def wait(self, job_id: str, timeout: float = 600.0) -> JobState:
        """Block until the job is finished (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.get(job_id)
            if state.finished:
                return state
            time.sleep(0.05)
        raise JobTimeoutError(f"job {job_id} still {self.get(job_id).status} after {timeout} s")

    def close(self) -> None:
        """Stop the worker process (queued jobs are dropped; a running one is waited for)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _mark_orphans_failed(self) -> None:
        """Jobs left queued/running by a previous server process can never finish: say so."""
        for state in self.list():
            if not state.finished:
                state.status = "failed"
                state.message = "interrupted: the server stopped while this job ran; start it again"
                self._write(state)
