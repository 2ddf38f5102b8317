"""The dashboard's job runner over a workspace: every kind of `core.app.job_kinds`, run in the runner's
worker process, state in `<workspace>/jobs`."""

from __future__ import annotations

import os

from core.app.jobs import JobFunction, JobRunner
from core.app.workspace import Workspace


def worker_job_kinds(workspace_root: str, model_dir: str) -> dict[str, JobFunction]:
    """The job kinds, built in the worker process: their modules (TensorFlow among them) are imported
    there, so the web server that creates the runner never loads them."""
    from core.app.job_kinds import job_kinds

    return job_kinds(workspace_root, model_dir)


def workspace_runner(workspace: Workspace, model_dir: str | os.PathLike, workers: int = 1,
                     ray_address: str | None = None) -> JobRunner:
    """The job runner of `workspace`, with the registry at `model_dir` and up to `workers` worker
    processes (or Ray actors, with `ray_address`, see `JobRunner`). Starting it marks the jobs a
    previous server left running as interrupted and removes the half-written files they left."""
    workspace.remove_leftovers()
    return JobRunner(workspace.jobs_dir, worker_job_kinds, str(workspace.root), str(model_dir), workers=workers,
                     ray_address=ray_address)
