"""A versioned model registry on disk: `base_dir/<model_name>/<version>/`.

Each version folder holds `model.keras` (the full model), `model.weights.h5`, optionally
`saved_model/` (a TensorFlow SavedModel export), and `metadata.json` (who, when, what, and a sha256
of every file). Beside the versions, `registry.json` holds the aliases (e.g. production -> a version)
and the versions that were deleted, which are never reused.

Safety:
- a version is written into a hidden temporary folder and renamed into place, so a crash or a kill
  mid-save never leaves a folder that lists as a version; the rename also makes two concurrent
  saves that picked the same name impossible (the second retries with a new name);
- read-modify-write of `registry.json` and of a version's metadata happens under an exclusive file
  lock, and every JSON file is replaced atomically;
- loading checks every file's sha256 first; names, versions and aliases must match `NAME_PATTERN`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, ContextManager

from core.common.locking import file_lock
from core.common.clock import utc_iso, utc_stamp
from core.common.atomic import sha256_of, write_json_atomic
from core.errors import DFEError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
SAVED_MODEL_DIR = "saved_model"  # a version's optional TensorFlow SavedModel export
REGISTRY_FILE = "registry.json"
MODEL_NAME = "dynamic_feature_extractor"  # the registry name of the project's extractor model


class RegistryError(DFEError):
    """A registry request cannot be satisfied: unknown version, bad name, corrupt files."""


def check_name(value: str, what: str) -> str:
    """`value` if it is a safe registry name (letters, digits, `_ . -`; no slashes, no `..`)."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value) or ".." in value:
        raise RegistryError(f"invalid {what} {value!r}: use letters, digits, '_', '.', '-' (no slashes, "
                            "no '..', not starting with '.' or '-', at most 128 characters)")
    return value


def new_version() -> str:
    """A sortable, unique version name from the UTC time: `v20261125-120301-123456-ab12`."""
    return f"v{utc_stamp()}-{uuid.uuid4().hex[:4]}"


class ModelRegistry:
    """The versions of one model under `base_dir/<model_name>/`."""

    def __init__(self, base_dir: str | os.PathLike, model_name: str) -> None:
        self.model_name = check_name(model_name, "model name")
        self.root = Path(base_dir) / model_name

    # ---- state --------------------------------------------------------------------------------

    def _locked(self) -> ContextManager[None]:
        return file_lock(self.root / ".lock")

    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads((self.root / REGISTRY_FILE).read_text())
        except FileNotFoundError:
            return {"aliases": {}, "deleted": []}
        except ValueError as error:
            raise RegistryError(f"{self.root / REGISTRY_FILE} is corrupt: {error}") from None
        return {"aliases": state.get("aliases", {}), "deleted": state.get("deleted", [])}

    def _write_state(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.root / REGISTRY_FILE, state)

    # ---- versions ----------------------------------------------------------------------------

    def versions(self) -> list[str]:
        """Complete versions, oldest first (sorted by name: generated names sort by time)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / METADATA_FILE).is_file())

    def aliases(self) -> dict[str, str]:
        return dict(self._state()["aliases"])

    def resolve(self, version_or_alias: str | None = None) -> str:
        """A version name from a version, an alias, or None/"latest" (the newest version)."""
        versions = self.versions()
        if version_or_alias in (None, "latest"):
            if not versions:
                raise RegistryError(f"model {self.model_name!r} has no versions in {self.root.parent}")
            return versions[-1]
        check_name(version_or_alias, "version or alias")
        if version_or_alias in versions:
            return version_or_alias
        alias = self._state()["aliases"].get(version_or_alias)
        if alias is not None:
            return alias
        if version_or_alias in self._state()["deleted"]:
            raise RegistryError(f"version {version_or_alias!r} of {self.model_name!r} was deleted")
        raise RegistryError(f"unknown version or alias {version_or_alias!r} of {self.model_name!r}; "
                            f"versions: {', '.join(versions) or 'none'}")

    def path(self, version: str) -> Path:
        return self.root / self.resolve(version)

    def aliases_of(self, version: str) -> list[str]:
        """The aliases that point at `version` (a version or an alias), sorted."""
        target = self.resolve(version)
        return sorted(alias for alias, pointed in self.aliases().items() if pointed == target)

    def saved_model(self, version: str) -> Path | None:
        """The version's SavedModel export folder, or None if it has none."""
        folder = self.path(version) / SAVED_MODEL_DIR
        return folder if folder.is_dir() else None

    def metadata(self, version: str | None = None) -> dict[str, Any]:
        path = self.path(version) / METADATA_FILE
        try:
            return json.loads(path.read_text())
        except ValueError as error:
            raise RegistryError(f"{path} is corrupt: {error}") from None

    def create(self, write_files: Callable[[Path], None], metadata: dict[str, Any],
               version: str | None = None) -> str:
        """Write a new version: `write_files(folder)` fills a temporary folder, then sha256s and
        `metadata.json` are added and the folder is renamed into place. Returns the version."""
        if version is not None:
            check_name(version, "version")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            write_files(tmp)
            files = {p.relative_to(tmp).as_posix(): sha256_of(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
            for attempt in range(5):
                name = version or new_version()
                with self._locked():
                    if name in self._state()["deleted"] or (self.root / name).exists():
                        if version is not None:
                            raise RegistryError(f"version {name!r} of {self.model_name!r} exists or was "
                                                "deleted; versions are never reused")
                        continue
                    write_json_atomic(tmp / METADATA_FILE, {**metadata, "version": name,
                                                            "created": metadata.get("created", utc_iso()),
                                                            "files": files})
                    os.rename(tmp, self.root / name)
                    return name
            raise RegistryError("could not find a free version name")
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def verify(self, version: str) -> Path:
        """The version's folder after checking every recorded file's sha256."""
        folder = self.path(version)
        recorded = self.metadata(version).get("files", {})
        for name, digest in recorded.items():
            file = folder / name
            if not file.is_file():
                raise RegistryError(f"{self.model_name} {folder.name}: {name} is missing; the version is corrupt")
            if sha256_of(file) != digest:
                raise RegistryError(f"{self.model_name} {folder.name}: {name} does not match its sha256 "
                                    "(corrupt or truncated); restore it or delete the version")
        return folder

    def update_metadata(self, version: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge `changes` into a version's metadata (atomically, under the lock)."""
        with self._locked():
            folder = self.path(version)
            updated = {**self.metadata(folder.name), **changes}
            write_json_atomic(folder / METADATA_FILE, updated)
            return updated

    def add_files(self, version: str, write_files: Callable[[Path], None]) -> None:
        """Add files to an existing version (e.g. a SavedModel export) and record their sha256s."""
        folder = self.verify(version)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            write_files(tmp)
            added = {p.relative_to(tmp).as_posix(): sha256_of(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
            with self._locked():
                for child in tmp.iterdir():
                    target = folder / child.name
                    if target.exists():
                        shutil.rmtree(target) if target.is_dir() else target.unlink()
                    os.rename(child, target)
                metadata = self.metadata(folder.name)
                replaced = {name.split("/")[0] for name in added}
                kept = {k: v for k, v in metadata["files"].items() if k.split("/")[0] not in replaced}
                write_json_atomic(folder / METADATA_FILE, {**metadata, "files": {**kept, **added}})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def delete(self, version: str) -> None:
        """Delete a version for good: its name is never reused and its aliases are removed."""
        with self._locked():
            folder = self.root / self.resolve(version)
            state = self._state()
            state["deleted"] = sorted(set(state["deleted"]) | {folder.name})
            state["aliases"] = {a: v for a, v in state["aliases"].items() if v != folder.name}
            self._write_state(state)
            trash = self.root / f".deleted-{uuid.uuid4().hex}"
            os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # ---- aliases and tags --------------------------------------------------------------------

    def set_alias(self, alias: str, version: str) -> None:
        """Point `alias` (e.g. production) at `version` (set or move)."""
        check_name(alias, "alias")
        with self._locked():
            target = self.resolve(version)
            if alias in self.versions():
                raise RegistryError(f"alias {alias!r} would hide the version of the same name")
            state = self._state()
            state["aliases"][alias] = target
            self._write_state(state)

    def remove_alias(self, alias: str) -> None:
        with self._locked():
            state = self._state()
            if state["aliases"].pop(alias, None) is None:
                raise RegistryError(f"no alias {alias!r} for {self.model_name!r}")
            self._write_state(state)

    def set_tags(self, version: str, add: list[str] = (), remove: list[str] = ()) -> list[str]:
        """Add/remove tags of a version; returns the new tag list."""
        for tag in add:
            check_name(tag, "tag")
        with self._locked():
            folder = self.path(version)
            metadata = self.metadata(folder.name)
            tags = sorted((set(metadata.get("tags", [])) | set(add)) - set(remove))
            write_json_atomic(folder / METADATA_FILE, {**metadata, "tags": tags})
        return tags
