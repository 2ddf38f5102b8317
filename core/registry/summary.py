"""Registry summaries for display: one row per version, and the differences between two versions."""

from __future__ import annotations

from typing import Any

from core.registry.versions import ModelRegistry, RegistryError


def version_rows(registry: ModelRegistry) -> list[dict[str, Any]]:
    """Newest first: version, created, author, description, metrics, aliases, tags, size (MB); a
    version whose metadata cannot be read is a row whose description says `broken: <reason>`."""
    aliases = registry.aliases()
    rows = []
    for version in reversed(registry.versions()):
        try:
            meta, description = registry.metadata(version), None
        except RegistryError as error:  # listed as broken, so that it can be seen and deleted
            meta, description = {}, f"broken: {error}"
        metrics = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in (meta.get("metrics") or {}).items())
        rows.append({"version": version, "created (UTC)": meta.get("created", ""), "author": meta.get("author", ""),
                     "description": description or meta.get("description", ""), "metrics": metrics,
                     "aliases": ", ".join(a for a, v in aliases.items() if v == version),
                     "tags": ", ".join(meta.get("tags", [])), "size (MB)": _size_mb(registry, version)})
    return rows


def _size_mb(registry: ModelRegistry, version: str) -> float:
    return round(sum(p.stat().st_size for p in registry.path(version).rglob("*") if p.is_file()) / 1e6, 1)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def metadata_diff(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """The metadata fields (dotted paths) whose values differ: [{field, first, second}]."""
    left, right = _flatten(first), _flatten(second)
    return [{"field": key, "first": left.get(key), "second": right.get(key)}
            for key in sorted(set(left) | set(right)) if left.get(key) != right.get(key)]


# what a version's metrics were measured on
MEASURED_ON = ("extra.adaptation.rendering", "extra.adaptation.eval_clips")


def unlike_measurements(first: dict[str, Any], second: dict[str, Any]) -> str | None:
    """Why two versions' metrics cannot be read against each other, or None: both carry metrics but
    measured on different clips, another rendering of the motion curriculum
    (`extra.adaptation.rendering`; weights trained before rendering 2 record none) or other
    evaluation sets (`extra.adaptation.eval_clips`)."""
    if not (first.get("metrics") and second.get("metrics")):
        return None
    left, right = _flatten(first), _flatten(second)
    differing = [field for field in MEASURED_ON if left.get(field) != right.get(field)]
    if not differing:
        return None
    shown = "; ".join(f"{field}: {left.get(field, 'not recorded')} vs {right.get(field, 'not recorded')}"
                      for field in differing)
    return (f"Their metrics were measured on different clips ({shown}): a lower number need not be a "
            "regression. benchmarks/motion_families.py measures weights on the same clips.")
