"""The dashboard's jobs on Ray, for a team that outgrows one machine (setting `job_engine: ray`).

`RayJobPool` stands in for the runner's local process pool: `workers` actors, each loading the job
kinds once (and the models they load stay loaded between jobs), each running one job at a time with
`core.app.jobs.run_job`. The runner keeps its fair queue and hands a job over only when an actor is
free. Job state, cancel flags, videos and results are files under the workspace, read and written by
path: on a cluster the workspace and the registry must be at the same paths on every node (a shared
filesystem), as must this code (see `core.batch.ray_engine`, whose environment the actors get).
An actor that dies fails its job like a dead local worker; the runner then starts a new pool.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from typing import Any, Callable

import ray

from core.app.jobs import KindsFactory, load_job_kinds, run_job
from core.batch.ray_engine import connect_ray, worker_env
from core.errors import DFEError


class JobActor:
    """One Ray worker: the job kinds, built once, and `run_job` on request."""

    def __init__(self, factory: KindsFactory, args: tuple) -> None:
        load_job_kinds(factory, args)

    def run(self, root: str, job_id: str) -> None:
        run_job(root, job_id)


class RayJobPool(Executor):
    """`workers` `JobActor`s on Ray at `address` (None: start or join Ray on this machine)."""

    def __init__(self, workers: int, factory: KindsFactory, args: tuple, address: str | None = None) -> None:
        connect_ray(address)
        actor_class = ray.remote(JobActor).options(num_cpus=1, runtime_env={"env_vars": worker_env()})
        self._actors = [actor_class.remote(factory, args) for _ in range(workers)]
        self._free = list(self._actors)
        self._lock = threading.Lock()

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run `run_job(root, job_id)` on a free actor (the runner never submits more jobs than
        there are actors)."""
        if function is not run_job or kwargs:
            raise DFEError("a RayJobPool runs core.app.jobs.run_job(root, job_id) only")
        with self._lock:
            actor = self._free.pop()
        future = actor.run.remote(*args).future()
        future.add_done_callback(lambda _: self._release(actor))
        return future

    def _release(self, actor) -> None:
        with self._lock:
            self._free.append(actor)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the actors (a running job ends with them; the next runner marks it interrupted)."""
        for actor in self._actors:
            ray.kill(actor)
