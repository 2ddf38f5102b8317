"""The workspace folder: where videos and everything derived from them are kept.

Layout:
- `videos/<name>.<ext>`: the inputs (uploads and the demo);
- `flow/<method>/`: stored flow (`core.flow.store` layout) and `<name>_color.mp4` previews;
- `features/`: per-window features (`core.features.store` layout);
- `gallery/<video>/<layer>_w<window>_<channels>/`: temporal views of the visualisation gallery
  (`.png`, `.gif`) and the window's activations (`activations.npy`);
- `datasets/`: generated labelled datasets; `evaluations/<dataset>/<run>/`: evaluation reports;
  `training/<job>/`: fine-tuning checkpoints;
- `jobs/`: background jobs (`core.app.jobs`, `core.app.runner`);
- `owners/<video id>.json`: who added a video and whether the team may see it (`Ownership`);
- `audit.jsonl`: who uploaded, deleted or changed what (`core.app.audit`);
- `imports/<random>/`: uploaded legacy models waiting for their import job.
A new workspace gets the demo video so a first-time user sees results without uploading anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.common.atomic import sha256_of, write_json_atomic
from core.common.locking import file_lock
from core.app.users import User
from core.errors import DFEError
from core.features.store import feature_paths
from core.flow.methods import FLOW_METHODS
from core.flow.pipeline import find_videos
from core.flow.store import FlowRecord, find_complete, remove_flow
from core.training.curriculum import RIGID_OBJECT_MOTIONS
from core.training.motion_dataset import MOTIONS
from core.video.synthetic import make_demo_video
from core.video.decode import VIDEO_EXTENSIONS, probe_video

DEMO_VIDEO_NAME = "demo.mp4"
GALLERY_IMAGE_SUFFIXES = (".png", ".gif")
GALLERY_ACTIVATIONS = "activations.npy"  # beside a gallery folder's pictures: the window's `[t, h, w, c]` output


class UploadError(DFEError):
    """An uploaded file was refused (with the reason)."""


class AccessDeniedError(DFEError):
    """A user asked for something only its owner or an admin may do."""


@dataclass(frozen=True)
class Ownership:
    """Who added a video (`owner`, a user name) and whether the rest of the team sees it (`shared`).
    A video without a record (put into the folder by hand) belongs to nobody: only admins see it."""

    owner: str = ""
    shared: bool = False

    def changeable_by(self, user: User) -> bool:
        """Only the owner or an admin deletes a video or changes its sharing."""
        return user.is_admin or (bool(self.owner) and self.owner == user.name)

    def visible_to(self, user: User) -> bool:
        """Admins see every video; others their own and the shared ones."""
        return self.shared or self.changeable_by(user)


def safe_file_name(name: str) -> str:
    """`name` reduced to a plain file name: no folders, only letters, digits, `_ . -`."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, extension = base.rpartition(".")
    stem, suffix = (stem, f".{extension}") if dot and extension else (base, "")
    suffix = re.sub(r"[^A-Za-z0-9.]+", "", suffix)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-") or "video"
    return f"{stem[:80]}{suffix.lower()}"


def video_id(video: Path) -> str:
    """What a workspace video's flow, features and gallery are called: its file name, unique in the
    videos folder (so `clip.mp4` and `clip.avi` never share or delete each other's results)."""
    return video.name


DATASET_MOTIONS = {"motions": MOTIONS, "object_motions": RIGID_OBJECT_MOTIONS}


def motions_dataset(motions: list[str], scenes: int, frames: int, kind: str = "motions") -> dict[str, Any]:
    """The dataset choice of generated clips (`Workspace.dataset_dir`): camera motions (`kind`
    "motions") or one object's motion over a still background ("object_motions"); `scenes` scenes
    per motion, `frames` frames per clip, the motions in their canonical order so that one set of
    motions chosen in any order is one dataset."""
    return {"kind": kind, "motions": sorted(motions, key=DATASET_MOTIONS[kind].index), "scenes": int(scenes),
            "frames": int(frames)}


@dataclass(frozen=True)
class VideoStatus:
    """A workspace video and what has been computed for it."""

    path: Path
    flow: dict[str, FlowRecord]
    has_features: bool


class Workspace:
    """Paths inside a workspace folder (created on demand)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @property
    def videos_dir(self) -> Path:
        return self.root / "videos"

    @property
    def features_dir(self) -> Path:
        return self.root / "features"

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    @property
    def owners_dir(self) -> Path:
        return self.root / "owners"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.jsonl"

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def evaluations_dir(self) -> Path:
        return self.root / "evaluations"

    @property
    def training_dir(self) -> Path:
        return self.root / "training"

    def flow_preview(self, method: str, video: str) -> Path:
        """The colour-coded H.264 preview of a video's stored flow (`video`: its `video_id`, as for
        every path helper below)."""
        return self.flow_dir(method) / f"{video}_color.mp4"

    def gallery_dir(self, video: str) -> Path:
        """Everything the visualisation gallery drew for a video."""
        return self.root / "gallery" / video

    def gallery_folder(self, video: str, layer: str, window: int, features: list[int]) -> Path:
        return self.gallery_dir(video) / f"{layer}_w{window}_{'-'.join(map(str, features))}"

    def gallery_views(self, video: str) -> dict[Path, list[Path]]:
        """The gallery's folders for a video (sorted by name), each with its pictures (sorted); only
        folders with at least one picture."""
        root = self.gallery_dir(video)
        images = sorted(p for p in root.glob("*/*") if p.suffix in GALLERY_IMAGE_SUFFIXES) if root.is_dir() else []
        views: dict[Path, list[Path]] = {}
        for image in images:
            views.setdefault(image.parent, []).append(image)
        return views

    def gallery_activations(self, video: str, layer: str, window: int, features: list[int]) -> np.ndarray:
        """The activations the gallery stored for one window, as a batch of one: `[1, t, h, w, c]
        float32` (the layer's output)."""
        return np.load(self.gallery_folder(video, layer, window, features) / GALLERY_ACTIVATIONS)[None]

    def dataset_dir(self, spec: dict[str, Any]) -> Path:
        """The folder of a dataset choice: `{"kind": "library"}` is the videos folder (unlabelled);
        `{"kind": "motions" | "object_motions", "motions": [...], "scenes": n, "frames": n}` a generated
        camera- or object-motion set (`motions_dataset`)."""
        if spec["kind"] == "library":
            return self.videos_dir
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:6]
        prefix = "motions" if spec["kind"] == "motions" else "objects"
        return self.datasets_dir / f"{prefix}-{len(spec['motions'])}x{spec['scenes']}-f{spec['frames']}-{digest}"

    def evaluation_dir(self, dataset: dict[str, Any], version: str, flow_method: str, sequence_length: int) -> Path:
        """Where the evaluation report of a version on a dataset is written."""
        return self.evaluations_dir / self.dataset_dir(dataset).name / f"{version}-{flow_method}-T{sequence_length}"

    def flow_dir(self, method: str) -> Path:
        return self.root / "flow" / method

    def videos(self) -> list[Path]:
        """The videos in the workspace, sorted by name (none before the first is added)."""
        return find_videos(self.videos_dir) if self.videos_dir.is_dir() else []

    def video(self, name: str) -> Path:
        """The workspace video called `name` (a plain file name)."""
        path = self.videos_dir / safe_file_name(name)
        if path.name != name or not path.is_file():
            raise DFEError(f"no video {name!r} in the workspace")
        return path

    def ensure_demo_video(self) -> Path | None:
        """Create the demo video, shared with the team, if the workspace has no video; returns its
        path if created."""
        if self.videos():
            return None
        demo = make_demo_video(self.videos_dir / DEMO_VIDEO_NAME)
        self.set_ownership(demo, Ownership("", shared=True))
        return demo

    def _ownership_record(self, video: Path) -> Path:
        return self.owners_dir / f"{video_id(video)}.json"

    def ownership(self, video: Path) -> Ownership:
        """Who owns `video` and whether it is shared (`Ownership()` when nothing is recorded)."""
        try:
            return Ownership(**json.loads(self._ownership_record(video).read_text()))
        except (OSError, ValueError, TypeError):
            return Ownership()

    def set_ownership(self, video: Path, ownership: Ownership) -> None:
        write_json_atomic(self._ownership_record(video), asdict(ownership))

    def visible_videos(self, user: User) -> list[Path]:
        """The videos `user` may see, sorted by name."""
        return [video for video in self.videos() if self.ownership(video).visible_to(user)]

    def visible_video(self, user: User, name: str) -> Path:
        """The workspace video `name` if `user` may see it (else the same error as for no video, so
        other users' video names are not revealed)."""
        video = self.video(name)
        if not self.ownership(video).visible_to(user):
            raise DFEError(f"no video {name!r} in the workspace")
        return video

    def status(self, video: Path) -> VideoStatus:
        """What is computed for `video`: flow per method, and whether features exist."""
        flow = {m: r for m in FLOW_METHODS if (r := find_complete(self.flow_dir(m), video_id(video))) is not None}
        return VideoStatus(video, flow, feature_paths(self.features_dir, video_id(video))[1].exists())

    def add_video(self, name: str, data: bytes, ownership: Ownership = Ownership()) -> Path:
        """Check an uploaded file (it decodes, has at least two frames) and store it under a safe,
        unused name, recorded as `ownership`. Raises `UploadError` with the reason; nothing is kept
        for a bad file."""
        clean = safe_file_name(name)
        if Path(clean).suffix not in VIDEO_EXTENSIONS:
            raise UploadError(f"{name}: not a supported video type (use {', '.join(VIDEO_EXTENSIONS)})")
        # Each upload is checked in a hidden folder of its own (never shared by two uploads, even of
        # one name in one process), under its own name, so errors name the user's file.
        folder = self.videos_dir / f".upload-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        staging = folder / clean
        try:
            staging.write_bytes(data)
            probe_video(staging, min_frames=2)
            return self._link_unused(staging, clean, ownership)
        except DFEError as error:
            raise UploadError(f"{name}: {error}") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def same_content(self, data: bytes, user: User) -> Path | None:
        """The workspace video that `user` may see whose bytes are `data` (same size, then same
        sha256), if any: an upload of a file that is already here can be offered as the existing video."""
        digest = None
        for video in self.visible_videos(user):
            if video.stat().st_size == len(data):
                digest = digest or hashlib.sha256(data).hexdigest()
                if sha256_of(video) == digest:
                    return video
        return None

    def _link_unused(self, staging: Path, clean: str, ownership: Ownership) -> Path:
        """Hard-link `staging` into the videos folder as `clean`, or `<stem>_<n><suffix>` for the first
        unused n, with its ownership record written first: `os.link` never overwrites, so two uploads
        of one name both survive, and the lock keeps one upload's record from landing on the other's
        name (a name without a record is visible to admins only, never to the wrong user)."""
        counter = 0
        with file_lock(self.owners_dir / ".names.lock"):
            while True:
                target = self.videos_dir / (clean if not counter else f"{Path(clean).stem}_{counter}{Path(clean).suffix}")
                if not target.exists():
                    self.set_ownership(target, ownership)
                    try:
                        os.link(staging, target)
                        return target
                    except FileExistsError:  # added outside the dashboard meanwhile: not ours
                        self._ownership_record(target).unlink(missing_ok=True)
                counter += 1

    def stage_import(self, name: str, data: bytes) -> Path:
        """Keep an uploaded model file (`data`) as `imports/<random>/<safe name>` for an import job;
        returns its path. Each upload gets its own folder, so two of one name never collide."""
        folder = self.root / "imports" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        path = folder / safe_file_name(name)
        path.write_bytes(data)
        return path

    def remove_leftovers(self) -> list[Path]:
        """Remove what killed jobs and uploads left half-written anywhere in the workspace: the hidden
        temporary files and folders of atomic writes (`.tmp-*`, `.<name>.<id>.tmp[.npy]`) and upload
        staging folders (`.upload-*`). Only safe while no job or upload is under way: the runner calls
        it once as it starts, when the previous server's workers are gone. Returns what it removed."""
        removed = []
        for path in sorted(self.root.rglob(".*"), key=lambda p: len(p.parts)):
            name = path.name
            if not (name.startswith((".tmp-", ".upload-")) or name.endswith((".tmp", ".tmp.npy"))):
                continue
            if any(parent in removed for parent in path.parents):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    def delete_video(self, video: Path, by: User) -> None:
        """Delete a video and everything derived from it (flow of every method, previews, features,
        gallery views), if `by` is its owner or an admin (else `AccessDeniedError`)."""
        if not self.ownership(video).changeable_by(by):
            raise AccessDeniedError(f"only the owner of {video.name} or an admin may delete it")
        for method in FLOW_METHODS:
            remove_flow(self.flow_dir(method), video_id(video))
            self.flow_preview(method, video_id(video)).unlink(missing_ok=True)
        for path in feature_paths(self.features_dir, video_id(video)):
            path.unlink(missing_ok=True)
        remove_flow(self.features_dir / "flow", video_id(video))
        shutil.rmtree(self.gallery_dir(video_id(video)), ignore_errors=True)
        video.unlink(missing_ok=True)
        self._ownership_record(video).unlink(missing_ok=True)
