"""The local batch engine: worker processes on this machine, no Ray.

A `ProcessPoolExecutor` with the spawn start method (TensorFlow is not fork-safe); each process
builds one `BatchWorker` (thread limits, model load) in the pool's initializer and then takes one
video at a time. At most one video per worker is handed out, so the videos in flight are the ones
being worked on.

A killed worker process (SIGKILL, the out-of-memory killer) breaks the whole pool: every video in
flight then fails with `BrokenProcessPool`, with no way to tell which one the dead process had. Those
videos are retried in a new pool one at a time, alone, so that a death is counted against the one
video that was running; a video on which a worker has died `1 + max_retries` times alone is reported
as failed. Deaths are therefore never blamed on a video that merely ran beside the culprit.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Iterator

from core.batch.inputs import BatchItem
from core.batch.records import BatchSpec, VideoResult
from core.batch.worker import BatchWorker, describe_error
from core.common.process import available_cpus, exit_with_parent

_worker: BatchWorker | None = None  # this pool process's worker


def _start_worker(parent_pid: int, spec: BatchSpec) -> None:
    global _worker
    exit_with_parent(parent_pid)
    _worker = BatchWorker(spec)


def _process(item: BatchItem) -> VideoResult:
    return _worker.process(item)


def _start(pool: ProcessPoolExecutor, queue: deque, running: dict[Future, BatchItem]) -> bool:
    """Start the first item of `queue` in `pool`; False, with the item left in the queue, if the pool
    broke before it could take it (a worker died since the last look)."""
    try:
        running[pool.submit(_process, queue[0])] = queue[0]
    except BrokenProcessPool:
        return False
    queue.popleft()
    return True


class LocalEngine:
    """`workers` processes (default: one per available CPU), each with `threads` threads (default:
    `CPUs // workers`, so that the workers share the cores without oversubscribing them)."""

    def __init__(self, workers: int | None = None, max_retries: int = 2, threads: int | None = None) -> None:
        self.workers = workers or available_cpus()
        self.max_retries = max_retries
        self.threads = threads

    def describe(self) -> str:
        return f"local, {self.workers} worker process(es)"

    def results(self, spec: BatchSpec, items: list[BatchItem]) -> Iterator[VideoResult]:
        """The result of every item, in the order they finish."""
        workers = max(1, min(self.workers, len(items)))
        spec = replace(spec, threads=self.threads or max(1, available_cpus() // workers))
        pending, suspects, deaths = deque(items), deque(), Counter()
        while pending or suspects:
            in_flight_at_death = yield from self._pool_run(spec, workers, pending, suspects)
            for item in in_flight_at_death:
                if len(in_flight_at_death) > 1:  # which one killed it is unknown: each is retried alone
                    suspects.append(item)
                    continue
                deaths[item.key] += 1
                if deaths[item.key] > self.max_retries:
                    yield VideoResult(item.key, "failed", reason=f"WorkerDied: a worker process died on this video "
                                      f"{deaths[item.key]} times (killed, or out of memory)")
                else:
                    suspects.append(item)

    def _pool_run(self, spec: BatchSpec, workers: int, pending: deque, suspects: deque
                  ) -> Iterator[VideoResult]:
        """Run items of `pending` and `suspects` in one pool until both are empty or the pool breaks;
        returns the items that were in flight when it broke."""
        context = multiprocessing.get_context("spawn")
        running: dict[Future, BatchItem] = {}
        alone = False  # a suspect is running and nothing else may start
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(os.getpid(), spec)) as pool:
            try:
                while pending or suspects or running:
                    if suspects and not running:
                        if not _start(pool, suspects, running):
                            return []  # a worker died with nothing of ours in flight: a new pool goes on
                        alone = True
                    while not alone and not suspects and pending and len(running) < workers:
                        if not _start(pool, pending, running):
                            if not running:
                                return []
                            break  # the wait below collects what the dead pool had in flight
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    broken = yield from self._collect(finished, running)
                    alone = alone and bool(running)
                    if broken:
                        wait(running)  # the rest of the pool is going down too
                        return broken + (yield from self._collect(list(running), running))
                return []
            finally:
                pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _collect(finished, running: dict[Future, BatchItem]) -> Iterator[VideoResult]:
        """Yield the results of `finished` futures (removed from `running`); returns the items whose
        worker process died."""
        died = []
        for future in finished:
            item = running.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                died.append(item)
                continue
            except Exception as error:  # the task could not even run (e.g. the item did not unpickle)
                result = VideoResult(item.key, "failed", reason=describe_error(error))
            yield result
        return died
