"""Batch extraction: flow + features for every video of a folder or a list, on local processes or Ray.

    items = find_batch_inputs("videos/")                          # core.batch.inputs
    spec = batch_spec("out", model_dir, "default", config)        # a registry version, resolved once
    report = run_batch(spec, items, LocalEngine(workers=2))       # or core.batch.ray_engine.RayEngine()

The driver decides which videos are already done, hands the others to an engine (which yields one
`VideoResult` per video, see `core.batch.worker`), and is the only writer of `OUT/manifest.json`,
rewritten atomically as results come in (at most every few seconds) and at the end.

A video is done when `OUT/<folder>/done.json` records the same job (model version and weights
sha256, config, flow parameters) and the same input, and its outputs are whole. The input check is
its size and modification time against the record; when they differ the worker hashes the video and,
if the sha256 still matches, keeps the outputs. The done records are the truth and the manifest a
summary of them, so a re-run after a crash of the driver, a worker or the machine recomputes only the
videos without one; failed videos are tried again.

A lock file (`OUT/.batch.lock`) keeps a second driver off the same output folder; what killed workers
left behind (`OUT/.tmp-*`, `OUT/.trash-*`) is removed at the start and at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager, Generator, Protocol

from core.batch.inputs import BatchItem
from core.batch.records import (BatchSpec, VideoResult, is_done, manifest_entry, read_done,
                                write_manifest)
from core.features.config import ExtractorConfig
from core.common.locking import file_lock
from core.errors import FlowParameterError
from core.features.store import read_features, write_features_hdf5
from core.flow.methods import get_method
from core.flow.store import FLOW_STORAGE
from core.registry.versions import MODEL_NAME, WEIGHTS_FILE, ModelRegistry
from core.common.progress import ProgressCallback, no_progress

LOCK_FILE = ".batch.lock"
LEFTOVER_PREFIXES = (".tmp-", ".trash-")
MANIFEST_INTERVAL_S = 5.0
RUN_FEATURES_FILE = "features.h5"


class Engine(Protocol):
    """Runs videos on workers: `results(spec, items)` yields one `VideoResult` per item; closing the
    generator stops the workers."""

    def results(self, spec: BatchSpec, items: list[BatchItem]) -> Generator[VideoResult, None, None]: ...

    def describe(self) -> str: ...


@dataclass
class BatchReport:
    """The outcome of a run: the manifest's entries by key, its path, and this run's worker results."""

    entries: dict[str, dict[str, Any]]
    manifest: Path
    results: list[VideoResult] = field(default_factory=list)

    def keys(self, outcome: str) -> list[str]:
        """Keys whose outcome in this run was `outcome`: computed, skipped or failed."""
        return [key for key, entry in self.entries.items() if entry["this_run"] == outcome]


def batch_spec(output_dir: str | os.PathLike, model_dir: str | os.PathLike, model_version: str = "default",
               config: ExtractorConfig = ExtractorConfig(), flow_params: dict[str, Any] | None = None,
               overwrite: bool = False, flow_storage: str = "auto") -> BatchSpec:
    """The spec of a batch: the registry version (alias resolved, files verified), the config and the
    flow parameters resolved to their full set. Raises `RegistryError` / `ValueError` for bad input."""
    if flow_storage not in ("auto", *FLOW_STORAGE):
        raise FlowParameterError(f"unknown flow storage {flow_storage!r}; use auto or one of {FLOW_STORAGE}")
    registry = ModelRegistry(model_dir, MODEL_NAME)
    version = registry.verify(model_version).name
    weights = registry.metadata(version)["files"][WEIGHTS_FILE]
    params = get_method(config.flow.method).resolve(flow_params or {})
    return BatchSpec(str(Path(output_dir).resolve()), str(Path(model_dir).resolve()), version, weights,
                     config, params, overwrite=overwrite, flow_storage=flow_storage)


def output_lock(output_dir: Path) -> ContextManager[None]:
    """Hold `OUT/.batch.lock` for the run; raises `LockBusyError` if another driver holds it."""
    return file_lock(output_dir / LOCK_FILE, wait=False,
                     busy_message=f"another batch run is writing to {output_dir} (it holds {LOCK_FILE}); "
                                  "wait for it to end or use another --output_dir")


def remove_leftovers(output_dir: Path) -> None:
    """Delete the temporary folders and files of killed workers and interrupted writes."""
    for path in output_dir.iterdir():
        if not path.name.startswith(LEFTOVER_PREFIXES):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def plan(spec: BatchSpec, items: list[BatchItem]) -> tuple[dict[str, dict[str, Any]], list[BatchItem]]:
    """({key: done record} of the videos already done, [the videos to run])."""
    done, todo = {}, []
    job = spec.job()
    for item in items:
        folder = Path(spec.output_dir) / item.folder
        try:
            stat = item.path.stat()
        except OSError:
            todo.append(item)  # the worker reports it
            continue
        record = None if spec.overwrite else read_done(folder)
        if is_done(folder, record, job, stat.st_size, mtime_ns=stat.st_mtime_ns):
            done[item.key] = record
        else:
            todo.append(item)
    return done, todo


def _outcome(result: VideoResult) -> str:
    if result.status != "done":
        return "failed"
    return "skipped" if result.reused else "computed"


def run_batch(spec: BatchSpec, items: list[BatchItem], engine: Engine, progress: ProgressCallback = no_progress,
              inputs: str = "") -> BatchReport:
    """Flow + features for every item not already done; returns the report (the manifest's entries).

    `progress(videos finished, videos)` is called once per video; `inputs` (the folder or list the
    items came from) is recorded in the manifest.
    """
    output_dir = Path(spec.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    by_key = {item.key: item for item in items}
    with output_lock(output_dir):
        remove_leftovers(output_dir)
        done, todo = plan(spec, items)
        entries = {key: manifest_entry(by_key[key].path, by_key[key].folder, None, record, "skipped")
                   for key, record in done.items()}
        results: list[VideoResult] = []
        progress(len(entries), len(items))
        written = time.monotonic()
        stream = engine.results(spec, todo)  # a generator: nothing starts before the first result is asked for
        try:
            for result in stream if todo else ():
                item = by_key[result.key]
                results.append(result)
                entries[result.key] = manifest_entry(item.path, item.folder, result, result.record, _outcome(result))
                progress(len(entries), len(items))
                if time.monotonic() - written >= MANIFEST_INTERVAL_S:
                    write_manifest(output_dir, spec, inputs, entries)
                    written = time.monotonic()
        finally:
            stream.close()
            remove_leftovers(output_dir)
            manifest = write_manifest(output_dir, spec, inputs, entries)
            write_run_features(output_dir, by_key, entries)
    return BatchReport(entries, manifest, results)


def write_run_features(output_dir: Path, items: dict[str, BatchItem], entries: dict[str, dict[str, Any]]) -> Path:
    """`OUT/features.h5`: every done video's features in one HDF5 file, a group per output folder
    (`core.features.store.write_features_hdf5`), with the video's key as an attribute."""
    done = {items[key].folder: read_features(output_dir / items[key].folder, items[key].path.stem)
            for key, entry in entries.items() if entry["status"] == "done"}
    return write_features_hdf5(output_dir / RUN_FEATURES_FILE, {folder: f for folder, f in done.items() if f})
