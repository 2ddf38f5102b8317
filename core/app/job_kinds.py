"""The dashboard's job kinds, run by `core.app.jobs.JobRunner` in its worker process (`job_kinds` is the
factory, see `core.app.runner`): work on workspace videos and on the model registry.

- `flow`: stored flow of a video (I3D convention) plus a colour-coded H.264 preview at its fps.
- `features`: per-window features of a video with a registry model version (or the configured
  default), reusing the flow page's stored flow; optional Kinetics top-5 per window.
- `gallery`: the temporal views of `FeatureVisualization` for one window of a video, saved under
  `<workspace>/gallery/<video>/<layer>_w<window>_<features>/` with the activations (`.npy`).
- `evaluate`: the `FeatureExtractorEvaluator` report of a model version on a dataset (the generated
  camera-motion set, or the workspace's videos), in `<workspace>/evaluations/<dataset>/<run>/`.
- `fine_tune`: a new registry version fine-tuned from a version on a generated camera-motion set.
- `export`: a TensorFlow SavedModel added to a registry version.
- `import_h5`: a legacy full-model `.h5` converted into a new registry version.

A dataset is chosen by a small dict: `{"kind": "library"}` or `{"kind": "motions" | "object_motions",
"motions": [...], "scenes": n, "frames": n}` (camera or object motions, written once under
`<workspace>/datasets/`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from core.app.jobs import JobFunction, Progress
from core.app.workspace import Workspace, video_id
from core.flow.pipeline import FlowJob, compute_video_flow
from core.flow.store import load_flow
from core.video.writer import write_video
from core.viz.flow_images import flow_to_color

MODEL_KINDS = ("features", "gallery", "evaluate", "fine_tune", "export", "import_h5")


def preview_scale(flow: np.ndarray) -> float:
    """A magnitude for full saturation shared by all frames: the 99th percentile (pixels)."""
    magnitudes = np.hypot(flow[::max(1, len(flow) // 32), ..., 0], flow[::max(1, len(flow) // 32), ..., 1])
    return max(float(np.percentile(magnitudes, 99)), 0.5)


def flow_job(workspace: Workspace) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        video = workspace.video(params["video"])
        method, name = params["method"], video_id(video)
        job = FlowJob(method=method, params=params.get("params", {}), i3d=True)
        result = compute_video_flow(video, workspace.flow_dir(method), job,
                                    lambda done, total: progress(done, total, "optical flow"), name=name)
        flow, record = load_flow(workspace.flow_dir(method), name)
        scale = preview_scale(flow)
        preview = workspace.flow_preview(method, name)
        if not result.skipped or not preview.exists():
            progress(0, len(flow), "colour preview")
            write_video(preview, (flow_to_color(f, scale) for f in flow), record.fps)
        return {"method": method, "frames": record.num_flow_frames, "fps": record.fps,
                "preview": str(preview), "scale": scale, "reused": result.skipped}
    return run


def job_kinds(workspace_root: str, model_dir: str) -> dict[str, JobFunction]:
    """Every dashboard job kind over the workspace at `workspace_root`. The kinds that need a model
    (`MODEL_KINDS`, in `core.app.model_jobs`) import TensorFlow on their first run, so a worker that
    only computes flow starts in a second, not several."""
    return {"flow": flow_job(Workspace(workspace_root)),
            **{kind: _model_kind(kind, workspace_root, model_dir) for kind in MODEL_KINDS}}


def _model_kind(kind: str, workspace_root: str, model_dir: str) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        return _model_kinds(workspace_root, model_dir)[kind](params, progress)
    return run


@functools.cache
def _model_kinds(workspace_root: str, model_dir: str) -> dict[str, JobFunction]:
    """Built once per worker, so its loaded models serve the next jobs."""
    from core.app.model_jobs import model_job_kinds
    return model_job_kinds(workspace_root, model_dir)
