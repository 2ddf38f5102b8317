"""The workspace folder: where videos and everything derived from them are kept.

Layout: `videos/` (inputs), `flow/<method>/` (stored flow, `core.flow_store` layout). A new
workspace gets the demo video so a first-time user sees results without uploading anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.flow_pipeline import find_videos
from core.synthetic import make_demo_video

DEMO_VIDEO_NAME = "demo.mp4"


class Workspace:
    """Paths inside a workspace folder (created on demand)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @property
    def videos_dir(self) -> Path:
        return self.root / "videos"

    def flow_dir(self, method: str) -> Path:
        return self.root / "flow" / method

    def videos(self) -> list[Path]:
        """The videos in the workspace, sorted by name."""
        self.videos_dir.mkdir(parents=True, exist_ok=True)
        return find_videos(self.videos_dir)

    def ensure_demo_video(self) -> Path | None:
        """Create the demo video if the workspace has no video; returns its path if created."""
        if self.videos():
            return None
        return make_demo_video(self.videos_dir / DEMO_VIDEO_NAME)
