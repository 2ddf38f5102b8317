"""A batch worker: loads the model once, then turns one video at a time into flow + features.

    worker = BatchWorker(spec)          # thread limits, then the registry model (once per process)
    result = worker.process(item)       # a VideoResult; never raises for a bad video

A video's outputs are exactly what `DynamicFeatureExtractor.extract_video(video, output_dir=...)`
writes (`flow/<stem>.npy` + `flow/<stem>.json`, `<stem>_features.npy/.json/.csv`) plus the done
record (`core.batch.records`). They are written into a hidden folder with a unique name,
`OUT/.tmp-<uuid>-<folder>`, which is renamed to `OUT/<folder>` when whole. The rename is atomic,
and renaming onto a folder that already has files fails, so two attempts at the same video (a task
retried after its worker was killed, while the first one still finished) can never mix or
overwrite each other's files: the second finds the first's outputs and keeps them.

TensorFlow is imported only when a worker starts, never by the driver.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from core.batch.inputs import BatchItem
from core.batch.records import (BatchSpec, VideoResult, input_fingerprint, is_done, list_outputs, read_done,
                                write_done)
from core.common.clock import utc_iso
from core.errors import DFEError, VideoNotFoundError
from core.common.process import configure_process
from core.video.decode import probe_video


class WorkerSetupError(DFEError):
    """The worker could not load its model; every video it is given fails with this reason."""


def limit_tensorflow_threads(threads: int) -> None:
    """At most `threads` TensorFlow threads, so that N workers on N cores do not oversubscribe them;
    must run before TensorFlow's first operation in the process."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def load_extractor(spec: BatchSpec):
    """The spec's registry version (files checked against their sha256) in a `DynamicFeatureExtractor`."""
    from core.features.extractor import DynamicFeatureExtractor
    from core.registry.serializer import ModelSerializer

    model, _, _ = ModelSerializer.load_model(spec.model_dir, spec.model_name, spec.model_version)
    return DynamicFeatureExtractor(config=spec.config, model=model)


def describe_error(error: BaseException) -> str:
    """`ErrorType: message`, the reason a video failed."""
    return f"{type(error).__name__}: {error}"


def commit(tmp: Path, final: Path, spec: BatchSpec, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Rename the whole output folder `tmp` to `final`; returns (the record in place, True if it is
    ours). A `final` that holds the same job's outputs for the same input (another attempt's) is
    kept and `tmp` discarded, unless `spec.overwrite`; anything else there is replaced."""
    for _ in range(5):
        try:
            os.rename(tmp, final)
            return record, True
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            existing = read_done(final)
            if not spec.overwrite and is_done(final, existing, record["job"], record["input"]["size"],
                                              sha256=record["input"]["sha256"]):
                return existing, False
            trash = final.with_name(f".trash-{uuid.uuid4().hex[:8]}-{final.name}")
            try:
                os.rename(final, trash)
            except FileNotFoundError:  # another attempt moved it away first; try again
                continue
            shutil.rmtree(trash, ignore_errors=True)
    raise DFEError(f"could not put the outputs of {final.name} in place: another process keeps writing there")


class BatchWorker:
    """One worker process (a local pool process or a Ray actor): the model is loaded once here.

    A model that cannot be loaded does not stop the worker: each video it is given then fails with
    the reason, so the driver reports it instead of losing the worker again and again.
    """

    def __init__(self, spec: BatchSpec) -> None:
        self.spec = spec
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._setup_error: str | None = None
        self._extractor = None
        try:
            configure_process(opencv_threads=1)
            limit_tensorflow_threads(spec.threads)
            self._extractor = load_extractor(spec)
        except Exception as error:  # reported with every video instead
            self._setup_error = f"model {spec.model_name} {spec.model_version} not loaded: {describe_error(error)}"

    def process(self, item: BatchItem) -> VideoResult:
        """Flow + features of one video into `OUT/<item.folder>`; failures come back as results."""
        started = time.time()
        try:
            record, computed = self._outputs(item, started)
            return VideoResult(item.key, "done", record=record, reused=not computed, worker=self.name,
                               started=started, finished=time.time())
        except Exception as error:  # one bad video must not stop the batch
            return VideoResult(item.key, "failed", reason=describe_error(error), worker=self.name,
                               started=started, finished=time.time())

    def _outputs(self, item: BatchItem, started: float) -> tuple[dict[str, Any], bool]:
        if self._setup_error:
            raise WorkerSetupError(self._setup_error)
        if not item.path.is_file():
            raise VideoNotFoundError(f"video not found: {item.path}")
        spec, job = self.spec, self.spec.job()
        source = input_fingerprint(item.path)
        final = Path(spec.output_dir) / item.folder
        existing = read_done(final)
        if not spec.overwrite and is_done(final, existing, job, source["size"], sha256=source["sha256"]):
            if existing["input"] != source:  # same content, touched since: record the new time
                write_done(final, {**existing, "input": source})
            return {**existing, "input": source}, False
        tmp = final.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{item.folder}")
        try:
            tmp.mkdir(parents=True)
            info = probe_video(item.path)
            self._extractor.extract_video(item.path, output_dir=tmp, flow_job=spec.flow_job(),
                                          flow_storage=spec.storage_for(info.duration_s), info=info)
            record = {"key": item.key, "input": source, "job": job, "outputs": list_outputs(tmp),
                      "timing": {"started": utc_iso(started), "seconds": round(time.time() - started, 3)},
                      "worker": self.name}
            write_done(tmp, record)
            return commit(tmp, final, spec, record)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
