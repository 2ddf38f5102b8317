"""The Ray batch engine: one `BatchWorker` actor per worker, on a local Ray instance or a cluster.

    engine = RayEngine(workers=None, address=None)   # None: ray.init() starts Ray on this machine
    for result in engine.results(spec, items): ...   # one actor call per video, as actors free up

Each actor loads the model once and reserves `threads` CPUs (and `gpus_per_worker` GPUs, by default
one per worker when the cluster has GPUs). An actor whose process dies (SIGKILL, out of memory, a
lost node) is restarted by Ray, which reloads the model and retries the video it had, up to
`max_retries` times; the worker's atomic commit (`core.batch.worker`) makes a retried video end with
one set of outputs.

Videos, the registry and the output folder are read and written by path: on a cluster they must be
at the same paths on every node (a shared filesystem), as must this code. Ray is imported here only,
so the local engine and the rest of the project never need it. Worker logs stay in Ray's session
folder (`/tmp/ray/session_latest/logs`); failures come back as results.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import replace
from typing import Iterator

from core.common.paths import PROJECT_ROOT
from core.batch.inputs import BatchItem
from core.batch.records import BatchSpec, VideoResult
from core.batch.worker import BatchWorker

FORWARDED_ENV = ("OPENCV_FFMPEG_LOGLEVEL", "TF_CPP_MIN_LOG_LEVEL", "DFE_WEIGHTS_DIR")


def connect_ray(address: str | None = None, **options) -> bool:
    """Join the Ray cluster at `address`, or start Ray on this machine when None (as `ray.init`
    does: a cluster `ray start` made here, or `RAY_ADDRESS`, is joined instead). Nothing when this
    process is connected already. Returns True if this call connected; `options` go to `ray.init`.

    Ray runs its workers at niceness 15 unless told otherwise, so next to any other work on the
    machine they get a sliver of the CPU (beside two busy processes on 2 cores, a batch actor took
    ~140 s to import TensorFlow and build the model, against 5 s on an idle machine). A Ray started
    here runs them at this process's priority, as the local engine's workers run; a cluster started
    elsewhere keeps its own setting (start it with `RAY_worker_niceness=0 ray start ...`).
    """
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_worker_niceness", "0")  # read by the raylet ray.init starts, if it starts one
    local = {"include_dashboard": False} if address is None else {}
    ray.init(address=address, **{"log_to_driver": False, "logging_level": logging.WARNING, **local, **options})
    return True


def worker_env() -> dict[str, str]:
    """The environment of the actors: this code on the path, and the driver's logging settings."""
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, **{name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}}


class RayEngine:
    """Workers as Ray actors.

    Args:
        workers: actors to start; default one per GPU with GPU workers, else one per cluster CPU.
            More than the cluster can place at once is cut down to what fits.
        address: an existing cluster (`auto`, `ray://host:10001`, `host:6379`); None starts Ray on
            this machine (or uses the Ray this process is already connected to).
        gpus_per_worker: GPUs reserved per actor; None: 1 if the cluster has GPUs, else 0.
        max_retries: restarts of a dead actor's video before it is reported as failed.
    """

    def __init__(self, workers: int | None = None, address: str | None = None,
                 gpus_per_worker: float | None = None, max_retries: int = 2) -> None:
        self.workers = workers
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.max_retries = max_retries
        self.layout = ""

    def describe(self) -> str:
        return f"ray ({self.address or 'local'}), {self.layout or 'workers not started'}"

    def results(self, spec: BatchSpec, items: list[BatchItem]) -> Iterator[VideoResult]:
        """The result of every item, in the order they finish."""
        import ray

        started_here = connect_ray(self.address)
        actors = []
        try:
            workers, threads, gpus = self._plan(ray, len(items))
            self.layout = f"{workers} actor(s) x {threads} CPU(s)" + (f" + {gpus} GPU(s)" if gpus else "")
            actor_class = ray.remote(BatchWorker).options(
                num_cpus=threads, num_gpus=gpus, max_restarts=-1, max_task_retries=self.max_retries,
                runtime_env={"env_vars": worker_env()})
            actors = [actor_class.remote(replace(spec, threads=threads)) for _ in range(workers)]
            yield from self._dispatch(ray, actors, items)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started_here:
                ray.shutdown()

    def _plan(self, ray, videos: int) -> tuple[int, int, float]:
        """(actors, CPUs per actor, GPUs per actor) for this cluster."""
        resources = ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 1)), float(resources.get("GPU", 0))
        per_worker = self.gpus_per_worker if self.gpus_per_worker is not None else (1.0 if gpus else 0.0)
        fit = int(gpus // per_worker) if per_worker else cpus
        workers = max(1, min(self.workers or fit, fit, videos))
        node_cpus = min((int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n["Alive"]
                         and n["Resources"].get("CPU")), default=1)  # a head node may have none
        return workers, max(1, min(cpus // workers, node_cpus)), per_worker

    def _dispatch(self, ray, actors: list, items: list[BatchItem]) -> Iterator[VideoResult]:
        """Give each idle actor the next video; yield results as they come."""
        idle, pending, running = list(actors), deque(items), {}
        while pending or running:
            while idle and pending:
                actor, item = idle.pop(), pending.popleft()
                running[actor.process.remote(item)] = (actor, item)
            (ready,), _ = ray.wait(list(running), num_returns=1)
            actor, item = running.pop(ready)
            idle.append(actor)
            yield self._result(ray, ready, item)

    def _result(self, ray, ref, item: BatchItem) -> VideoResult:
        try:
            return ray.get(ref)
        except ray.exceptions.RayActorError as error:
            return VideoResult(item.key, "failed", reason=f"WorkerDied: the worker died on this video "
                               f"{self.max_retries + 1} times (killed, out of memory, or node lost): "
                               f"{str(error).splitlines()[0]}")
        except ray.exceptions.RayError as error:
            return VideoResult(item.key, "failed", reason=f"{type(error).__name__}: {str(error).splitlines()[0]}")
