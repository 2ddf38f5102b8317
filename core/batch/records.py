"""What a batch keeps on disk besides the outputs: each video's done record and the manifest.

`OUT/<folder>/done.json` (written by the worker, inside the folder it renames into place, so it
exists exactly when the outputs do):
    key, input {path, size, mtime_ns, sha256}, job (model name, version and weights sha256, the
    extractor config, the flow parameters), outputs {relative path: {size, sha256}}, timing
    {started, seconds}, worker (host:pid).

`OUT/manifest.json` (written by the driver alone, atomically): the job once (its id is the first 12
hex of the sha256 of its JSON), and per video key: input path, size, sha256, output folder, status
done/failed (with the reason), this run's outcome (computed/skipped/failed), the job id, model
version and weights sha256, outputs with sha256 and the compute time.

Nothing here imports TensorFlow: the driver stays light.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.common.clock import utc_iso
from core.common.atomic import sha256_of, write_json_atomic
from core.features.config import ExtractorConfig
from core.flow.pipeline import FlowJob
from core.flow.store import SourceFingerprint
from core.registry.versions import MODEL_NAME

DONE_FILE = "done.json"
MANIFEST_FILE = "manifest.json"


LONG_VIDEO_S = 300.0  # longer videos keep no flow by default: an hour of float32 flow is ~36 GB


@dataclass(frozen=True)
class BatchSpec:
    """Everything a worker needs, picklable: where outputs go, which registry model, which settings.

    Attributes:
        output_dir: the batch's output folder (absolute; the same path on every node).
        model_dir, model_name, model_version: a registry version (resolved, not an alias, so that
            every worker uses the same one even if an alias moves during the run).
        weights_sha256: the version's `model.weights.h5` sha256, recorded with every output.
        config: the extractor config (windows, endpoint, precision, flow method and fps).
        flow_params: the flow method's parameters, resolved to their full set.
        flow_storage: what each video keeps of its flow (`storage_for`).
        threads: CPU threads per worker (OpenCV, flow pairs, TensorFlow); set by the engine.
        overwrite: recompute videos even when their outputs are done.
    """

    output_dir: str
    model_dir: str
    model_version: str
    weights_sha256: str
    config: ExtractorConfig
    flow_params: dict[str, Any] = field(default_factory=dict)
    model_name: str = MODEL_NAME
    threads: int = 1
    overwrite: bool = False
    flow_storage: str = "auto"

    def storage_for(self, duration_s: float) -> str:
        """What a video of `duration_s` keeps of its flow: `flow_storage`, where "auto" keeps float32
        npy for videos up to LONG_VIDEO_S and none (features only) for longer ones."""
        if self.flow_storage != "auto":
            return self.flow_storage
        return "npy" if duration_s <= LONG_VIDEO_S else "none"

    def job(self) -> dict[str, Any]:
        """What determines a video's outputs besides the video (as it reads back from JSON)."""
        job = {"model": {"name": self.model_name, "version": self.model_version,
                         "weights_sha256": self.weights_sha256},
               "config": asdict(self.config), "flow_params": self.flow_params, "flow_storage": self.flow_storage}
        return json.loads(json.dumps(job, default=str))

    def flow_job(self) -> FlowJob:
        """Flow as the config says (I3D convention), with this worker's share of the threads."""
        return FlowJob(method=self.config.flow.method, params=self.flow_params, i3d=True,
                       target_fps=self.config.flow.fps, workers=self.threads)


def job_id(job: dict[str, Any]) -> str:
    """A short name for a job: the first 12 hex of the sha256 of its JSON."""
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class VideoResult:
    """A worker's answer for one video: done (with its record) or failed (with the reason).

    `reused` is True when the outputs were already in place (an earlier attempt or run computed
    them) and nothing was computed; `started`/`finished` are `time.time()` on the worker.
    """

    key: str
    status: str
    reason: str | None = None
    record: dict[str, Any] | None = None
    reused: bool = False
    worker: str | None = None
    started: float = 0.0
    finished: float = 0.0




def input_fingerprint(path: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """{path, size, mtime_ns, sha256} of a video; `sha256` if the caller already has it."""
    source = SourceFingerprint.of(path)
    return {**asdict(source), "sha256": sha256 or sha256_of(path)}


def list_outputs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under `folder` but the done record: {relative path: {size, sha256}}."""
    return {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_of(p)}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != DONE_FILE}


def write_done(folder: Path, record: dict[str, Any]) -> Path:
    return write_json_atomic(folder / DONE_FILE, record)


def read_done(folder: Path) -> dict[str, Any] | None:
    """The done record of an output folder, or None if missing or unreadable."""
    try:
        record = json.loads((folder / DONE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def outputs_whole(folder: Path, record: dict[str, Any]) -> bool:
    """True if every output the record lists is there with its recorded size."""
    try:
        return all((folder / name).stat().st_size == info["size"] for name, info in record["outputs"].items())
    except (OSError, KeyError, TypeError, AttributeError):
        return False


def is_done(folder: Path, record: dict[str, Any] | None, job: dict[str, Any], size: int,
            mtime_ns: int | None = None, sha256: str | None = None) -> bool:
    """True if `record` (of `folder`) is this job's output for this input: same job, same size and
    either the same modification time (the driver's quick check) or the same sha256 (the worker's),
    and every output whole."""
    if record is None or record.get("job") != job:
        return False
    recorded = record.get("input", {})
    same_input = recorded.get("size") == size and (
        (mtime_ns is not None and recorded.get("mtime_ns") == mtime_ns) or
        (sha256 is not None and recorded.get("sha256") == sha256))
    return same_input and outputs_whole(folder, record)


def manifest_entry(path: Path, folder: str, result: VideoResult | None, record: dict[str, Any] | None,
                   outcome: str) -> dict[str, Any]:
    """The manifest's line for one video: from its done record, or the failure of `result`."""
    if record is None:
        return {"input": str(path), "folder": folder, "status": "failed", "this_run": outcome,
                "reason": result.reason if result else None, "worker": result.worker if result else None}
    job = record["job"]
    return {"input": record["input"]["path"], "size": record["input"]["size"],
            "sha256": record["input"]["sha256"], "folder": folder, "status": "done", "this_run": outcome,
            "job": job_id(job),
            "model_version": job["model"]["version"], "weights_sha256": job["model"]["weights_sha256"],
            "outputs": record["outputs"], "seconds": record["timing"]["seconds"],
            "computed_at": record["timing"]["started"], "worker": record.get("worker")}


def write_manifest(output_dir: Path, spec: BatchSpec, inputs: str, entries: dict[str, dict[str, Any]]) -> Path:
    """Write `OUT/manifest.json` atomically with the job, every entry and the counts."""
    counts = {outcome: sum(e["this_run"] == outcome for e in entries.values())
              for outcome in ("computed", "skipped", "failed")}
    return write_json_atomic(output_dir / MANIFEST_FILE, {
        "inputs": inputs, "updated": utc_iso(), "job": {"id": job_id(spec.job()), **spec.job()},
        "summary": {"videos": len(entries), "done": counts["computed"] + counts["skipped"], **counts},
        "videos": entries})
