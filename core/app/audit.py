"""The audit log of a workspace: who uploaded, deleted or changed what, and when.

One JSON object per line in `<workspace>/audit.jsonl`: `{"time", "user", "action", "target", ...}`.
Each entry is one `write` to a file opened for appending, so entries of concurrent sessions and
processes never interleave; the log is only ever appended to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.common.clock import utc_iso
from core.errors import DFEError

ACTIONS = ("login", "login_failed", "upload", "delete_video", "share_video", "delete_version", "alias_version",
           "tag_version", "import_version", "fine_tune", "export_version", "cancel_job")


class AuditLog:
    """Appends to and reads the log at `path`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def record(self, user: str, action: str, target: str = "", **details: Any) -> None:
        """Append one entry (`action`: one of `ACTIONS`)."""
        if action not in ACTIONS:
            raise DFEError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
        entry = {"time": utc_iso(), "user": user, "action": action, "target": target, **details}
        line = (json.dumps(entry, sort_keys=True, default=str) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The entries, newest first (at most `limit`); a line that does not parse is skipped."""
        if not self.path.exists():
            return []
        entries = []
        for line in reversed(self.path.read_text().splitlines()):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
            if limit is not None and len(entries) >= limit:
                break
        return entries
