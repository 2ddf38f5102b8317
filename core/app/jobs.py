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
Waiting jobs form a fair queue (`fair_order`): the next free worker takes the oldest job of the user
with the fewest jobs running, so one user's ten submissions do not hold back another user's one;
`queue_position` says where a waiting job stands and `time_left` estimates a running one's rest.
A queued or running job can be cancelled (`cancel`): a running one stops at its next progress report
(its atomic writes leave no partial files) and is marked `cancelled`; a queued one never starts.
Stopping the server (`interrupt_active`, on SIGTERM) does the same to every job, marking them
`interrupted`. Job kinds come from a factory, a module-level function given to the runner, called
once in the worker with the runner's arguments: it returns `{kind: function(params, progress) -> result dict}`.
If the worker dies (killed, out of memory), its job is marked failed and the next job gets a new one;
if the runner's process dies (even by SIGKILL), its worker exits within a second and the next runner
marks the job interrupted.
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
from collections import Counter
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from core.common.clock import utc_iso, utc_stamp
from core.common.atomic import atomic_path, write_json_atomic
from core.common.process import configure_process, exit_with_parent
from core.errors import DFEError, JobTimeoutError

Progress = Callable[[int, int | None, str], None]  # (done, total or None, stage)
JobFunction = Callable[[dict[str, Any], Progress], dict[str, Any]]
KindsFactory = Callable[..., dict[str, JobFunction]]
ACTIVE = ("queued", "running")
CANCEL_FLAG = "cancel"  # in a job's folder: stop it; holds the reason, "cancel" or "interrupt"
INTERRUPTED = "interrupted: the server stopped while this job ran; start it again"


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
    owner: str = ""
    after: str = ""  # a job that must finish (in any way) before this one starts
    created: str = ""
    started: str = ""
    updated: str = ""
    paces: dict[str, list] = field(default_factory=dict)  # stage -> [time, done, total] of its first report

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE


def time_left(state: JobState, now: float | None = None) -> float | None:
    """Seconds the running job's current stage still needs, from its pace since the stage's first
    progress report (so neither a model loading before it nor an earlier stage counts; stages that
    take turns each keep theirs); None before the stage has a pace."""
    since, first_done, _ = state.paces.get(state.stage, ("", 0, None))
    if state.status != "running" or not since or not state.total or state.done <= first_done:
        return None
    elapsed = (time.time() if now is None else now) - datetime.fromisoformat(since).timestamp()
    return max(0.0, elapsed * (state.total - state.done) / (state.done - first_done))


def fair_order(queued: list[JobState], running_owners: list[str],
               last_served: dict[str, int] | None = None) -> list[JobState]:
    """The order in which free workers take the `queued` jobs: each time, the oldest job of the owner
    with the fewest jobs running (`running_owners`: one entry per running job), among those the one
    served longest ago (`last_served`: owner -> a number that grows with each job handed out; never
    served comes first), so owners take turns."""
    waiting: dict[str, list[JobState]] = {}
    for state in sorted(queued, key=lambda s: (s.created, s.id)):
        waiting.setdefault(state.owner, []).append(state)
    load = Counter(running_owners)
    served = dict(last_served or {})
    turn = max(served.values(), default=0)
    order = []
    while waiting:
        owner = min(waiting, key=lambda o: (load[o], served.get(o, -1), waiting[o][0].created, waiting[o][0].id))
        order.append(waiting[owner].pop(0))
        load[owner] += 1
        turn += 1
        served[owner] = turn
        if not waiting[owner]:
            del waiting[owner]
    return order


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

    def stop_requested(self, job_id: str) -> str | None:
        """Why the job was asked to stop ("cancel" or "interrupt"), or None."""
        try:
            return (self.root / job_id / CANCEL_FLAG).read_text() or "cancel"
        except OSError:
            return None

    def request_stop(self, job_id: str, reason: str = "cancel") -> None:
        with atomic_path(self.root / job_id / CANCEL_FLAG) as tmp:
            tmp.write_text(reason)

    def interrupt_active(self) -> list[str]:
        """The server is stopping: every queued job is marked interrupted at once and every running
        one is asked to stop (its worker marks it interrupted at its next progress report). Returns
        the ids of the jobs it stopped."""
        stopped = []
        for state in self.list():
            if state.finished:
                continue
            self.request_stop(state.id, "interrupt")
            if state.status == "queued":
                state.status, state.message = "interrupted", INTERRUPTED
                self._write(state)
            stopped.append(state.id)
        return stopped

    def find(self, kind: str, params: dict[str, Any]) -> JobState | None:
        """The newest job with this kind and these parameters, if any."""
        key = job_key(kind, params)
        return next((s for s in self.list() if s.key == key), None)


_worker_kinds: dict[str, JobFunction] = {}


def load_job_kinds(factory: KindsFactory, args: tuple) -> None:
    """In a worker: the process's settings, then the job kinds that `run_job` runs, once."""
    configure_process()
    _worker_kinds.update(factory(*args))


def _load_kinds(parent_pid: int, factory: KindsFactory, args: tuple) -> None:
    """Local worker process initializer: die with the runner's process, then `load_job_kinds`."""
    exit_with_parent(parent_pid)
    load_job_kinds(factory, args)


def run_job(root: str, job_id: str) -> None:
    """In the worker process: run one job, keeping its state file up to date."""
    store = JobStore(root)
    state = store.get(job_id)
    if store.stop_requested(job_id):
        if not state.finished:
            state.status, state.message = "cancelled", "cancelled before it started"
            store._write(state)
        return
    state.status, state.started = "running", utc_iso()
    store._write(state)
    last_write = 0.0

    def progress(done: int, total: int | None, stage: str = "") -> None:
        nonlocal last_write
        state.done, state.total, state.stage = done, total, stage or state.stage
        if state.paces.get(state.stage, [None] * 3)[2] != total:  # the stage's first report (or a new total)
            state.paces[state.stage] = [utc_iso(), done, total]
        if time.monotonic() - last_write > 0.25 or (total and done >= total):
            last_write = time.monotonic()
            if store.stop_requested(job_id):
                raise JobCancelledError("cancelled")
            store._write(state)

    try:
        if state.kind not in _worker_kinds:
            raise DFEError(f"unknown job kind {state.kind!r}; known: {', '.join(_worker_kinds)}")
        state.result = _worker_kinds[state.kind](state.params, progress)
        state.status, state.message = "done", ""
    except JobCancelledError:
        if store.stop_requested(job_id) == "interrupt":
            state.status, state.message = "interrupted", INTERRUPTED
        else:
            state.status, state.message = "cancelled", "cancelled while it ran; nothing it was writing was kept"
    except DFEError as error:
        state.status, state.message = "failed", str(error)
    except Exception as error:  # a bug: keep the details for the log, show one line
        state.status = "failed"
        state.message = f"unexpected error ({type(error).__name__}: {error}); details in the job log"
        (store.root / job_id / "error.log").write_text(traceback.format_exc())
    store._write(state)


class JobRunner(JobStore):
    """Runs jobs in a pool of worker processes, from a fair queue; state under `root` (see module
    docstring).

    Args:
        root: the jobs folder (e.g. `<workspace>/jobs`).
        kinds_factory: a module-level function (the worker imports it by name) returning
            `{kind: function(params, progress) -> dict}`; `progress(done, total, stage)`.
        factory_args: plain values (strings, numbers) passed to the factory in the worker.
        workers: the most worker processes at once (each loads its own models).
        ray_address: run the jobs on Ray actors instead of local processes: "" starts (or joins) Ray
            on this machine, an address (`auto`, `host:6379`) joins a cluster; None (default): local.
    """

    def __init__(self, root: str | os.PathLike, kinds_factory: KindsFactory, *factory_args: Any,
                 workers: int = 1, ray_address: str | None = None) -> None:
        super().__init__(root)
        self._factory = (kinds_factory, factory_args)
        self._workers = max(1, int(workers))
        self._ray_address = ray_address
        self._pool: Executor | None = None
        self._lock = threading.RLock()
        self._queued: list[str] = []  # ids of jobs waiting for a worker
        self._running: dict[str, str] = {}  # id -> owner of jobs handed to a worker
        self._served: dict[str, int] = {}  # owner -> the turn their last job was handed out
        self._mark_orphans_interrupted()

    def submit(self, kind: str, params: dict[str, Any], owner: str = "", after: str = "") -> JobState:
        """Queue a job for `owner` (or return the identical one still queued or running); with
        `after` (a job id), it starts only once that job has finished."""
        with self._lock:
            existing = self.find(kind, params)
            if existing is not None and not existing.finished:
                return existing
            state = JobState(f"{utc_stamp()}-{uuid.uuid4().hex[:6]}", kind, params, job_key(kind, params),
                             owner=owner, after=after, created=utc_iso())
            self._write(state)
            self._queued.append(state.id)
            self._dispatch()
        return self.get(state.id)

    def waiting(self) -> list[JobState]:
        """The queued jobs that may start (any job they wait `after` has finished), in the order free
        workers will take them. Jobs no longer queued (cancelled) leave the queue here."""
        with self._lock:
            queued = [state for state in map(self.get, self._queued) if state.status == "queued"]
            self._queued = [state.id for state in queued]
            ready = [s for s in queued if not s.after or self.get(s.after).finished]
            return fair_order(ready, list(self._running.values()), self._served)

    def queue_position(self, job_id: str) -> int | None:
        """1 for the job a worker takes next, 2 for the one after...; None unless the job is waiting
        (and not for another job to finish)."""
        ids = [state.id for state in self.waiting()]
        return ids.index(job_id) + 1 if job_id in ids else None

    def handed_to_worker(self, job_id: str) -> bool:
        """Whether the job is with a worker: running, or still "queued" while its worker starts."""
        with self._lock:
            return job_id in self._running

    def _dispatch(self) -> None:
        """Hand queued jobs to free workers, in fair order (call with the lock held)."""
        for state in self.waiting()[:max(0, self._workers - len(self._running))]:
            if self._pool is None:
                self._pool = self._new_pool()
            pool = self._pool
            self._queued.remove(state.id)
            self._running[state.id] = state.owner
            self._served[state.owner] = max(self._served.values(), default=0) + 1
            future = pool.submit(run_job, str(self.root), state.id)
            future.add_done_callback(lambda done, job_id=state.id: self._after(job_id, done, pool))

    def _new_pool(self) -> Executor:
        """Worker processes on this machine, or Ray actors (with `ray_address`; see `core.app.ray_jobs`)."""
        if self._ray_address is not None:
            from core.app.ray_jobs import RayJobPool
            return RayJobPool(self._workers, *self._factory, address=self._ray_address or None)
        return ProcessPoolExecutor(self._workers, multiprocessing.get_context("spawn"),
                                   initializer=_load_kinds, initargs=(os.getpid(), *self._factory))

    def _after(self, job_id: str, future: Future, pool: Executor) -> None:
        """A job left its worker: the next queued job gets it. A job whose worker died (or could not
        start) is failed; the next job gets a new worker."""
        with self._lock:
            self._running.pop(job_id, None)
            error = None if future.cancelled() else future.exception()
            if error is not None:
                if self._pool is pool:
                    self._pool = None
                    pool.shutdown(wait=False)
                state = self.get(job_id)
                if not state.finished:
                    state.status = "failed"
                    state.message = f"the job worker stopped ({type(error).__name__}: {error}); start the job again"
                    self._write(state)
            if not future.cancelled():
                self._dispatch()

    def cancel(self, job_id: str) -> JobState:
        """Ask a queued or running job to stop (see module docstring); returns its state now. A job
        that already finished is left as it is."""
        state = self.get(job_id)
        if not state.finished:
            self.request_stop(job_id)
        if state.status == "queued":  # shown at once; it is never handed to a worker
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
        """Stop the worker processes (queued jobs stay queued until the next runner marks them
        interrupted; a running one is waited for)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._queued.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _mark_orphans_interrupted(self) -> None:
        """Jobs left queued/running by a previous server process can never finish: say so."""
        for state in self.list():
            if not state.finished:
                state.status, state.message = "interrupted", INTERRUPTED
                self._write(state)
