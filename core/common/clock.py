"""UTC time as the project writes it: ISO 8601 for records, and a sortable stamp for names."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_iso(timestamp: float | None = None) -> str:
    """`2026-11-29T09:01:02+00:00`: now, or the Unix `timestamp` (seconds)."""
    moment = datetime.now(timezone.utc) if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="seconds")


def utc_stamp() -> str:
    """`20261129-090102-123456`: now, to the microsecond; names made from it sort by time."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
