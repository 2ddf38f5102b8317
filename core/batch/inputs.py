"""The videos of a batch: a folder (searched recursively, as UCF101 / Kinetics class folders are laid
out) or a text file with one video path per line.

Each video gets a key and an output folder name:
- the key is its path relative to the folder (or to the list file's folder; a listed path outside it
  keeps its absolute path), e.g. `ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi`; keys are unique;
- the folder name is the key with `/` written as `__`, e.g. `ApplyEyeMakeup__v_...avi`, so two
  `clip.mp4` in different sub-folders never share outputs. A key that would not map back one to one
  (absolute, odd characters, a `__` of its own, no video extension, very long) is written readably
  and gets `-<8 hex of its sha1>` added. The name depends on the key alone, so it is stable when
  videos are added or removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import DFEError
from core.flow.pipeline import find_videos
from core.video.decode import VIDEO_EXTENSIONS

SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class BatchItem:
    """One video of a batch: `key` (unique, see the module doc), `path` (absolute) and `folder` (the
    name of its output folder under the batch's output folder)."""

    key: str
    path: Path
    folder: str


def folder_name(key: str) -> str:
    """The output folder name of `key`: readable, unique among keys, stable."""
    parts = key.strip("/").split("/")
    name = "__".join(parts)
    if (not key.startswith("/") and len(name) <= 150 and Path(key).suffix.lower() in VIDEO_EXTENSIONS
            and all(SAFE_PART.match(part) and "__" not in part for part in parts)):
        return name
    readable = "__".join(re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._-") or "_" for part in parts)
    return f"{readable[-120:]}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def _key(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _folder_videos(root: Path, exclude: Path | None) -> list[Path]:
    """Videos under `root` at any depth, hidden files and folders (and `exclude`) left out."""
    videos = []
    for folder, subfolders, _ in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")
                               and (exclude is None or Path(folder, d).resolve() != exclude))
        videos += [p for p in find_videos(folder) if not p.name.startswith(".")]
    return videos


def _listed_videos(list_file: Path) -> list[Path]:
    """The paths of a list file: one per line, blank lines and `#` comments skipped, relative paths
    relative to the file's folder."""
    paths = []
    for number, line in enumerate(list_file.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        path = Path(text).expanduser()
        paths.append(path if path.is_absolute() else list_file.parent / path)
    return paths


def find_batch_inputs(videos: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[BatchItem]:
    """The videos of `videos` (a folder or a list file) as `BatchItem`s, sorted by key; `exclude` is
    a folder to leave out (the batch's own output folder when it lies inside the input folder).

    A listed path that does not exist is kept: the batch reports it as failed. Raises `DFEError` if
    `videos` is neither, or holds no video.
    """
    source = Path(videos).expanduser().resolve()
    if source.is_dir():
        paths, base = _folder_videos(source, Path(exclude).resolve() if exclude else None), source
    elif source.is_file():
        paths, base = _listed_videos(source), source.parent
    else:
        raise DFEError(f"--videos {videos}: no such folder or list file")
    items: dict[str, BatchItem] = {}
    for path in paths:
        absolute = Path(os.path.abspath(path))
        key = _key(absolute, base)
        items.setdefault(key, BatchItem(key, absolute, folder_name(key)))
    if not items:
        raise DFEError(f"no videos ({', '.join(e[1:] for e in VIDEO_EXTENSIONS)}) found in {videos}")
    return sorted(items.values(), key=lambda item: item.key)
