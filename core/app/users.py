"""Who may use a served dashboard: users and roles from a YAML file with salted password hashes.

The file (setting `users_file`, env `DFE_USERS_FILE`) looks like

    users:
      ann: {role: admin, password: "scrypt$16384$8$1$<salt hex>$<hash hex>"}
      bob: {role: member, password: "scrypt$..."}

and is written by `python -m core users add NAME --role member` (the password is read from the
terminal or stdin, never from the command line). Roles: `admin` sees and deletes every video and
manages model versions; `member` sees their own videos and those shared with the team and deletes
only their own. Without a users file login is off: one local user, an admin (the single-user demo).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.common.atomic import atomic_path
from core.common.locking import file_lock
from core.errors import ConfigError, DFEError

ROLES = ("admin", "member")
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


class LoginError(DFEError):
    """Wrong user name or password (which of the two is not said)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


LOCAL_USER = User("local", "admin")  # the only user when login is off


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$<salt hex>$<hash hex>` of `password` with a random 16-byte salt (or `salt`)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a `hash_password` string (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


class UserDirectory:
    """The users file at `path` (see module docstring); read on every call, so edits apply at once."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def _entries(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = yaml.safe_load(self.path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"cannot read the users file {self.path}: {error}") from None
        users = data.get("users", {}) if isinstance(data, dict) else None
        if not isinstance(users, dict) or not all(isinstance(v, dict) for v in users.values()):
            raise ConfigError(f"{self.path} must hold `users: {{name: {{role: ..., password: ...}}}}`")
        return users

    def users(self) -> list[User]:
        """Every user, by name."""
        return [User(name, entry.get("role", "member")) for name, entry in sorted(self._entries().items())]

    def authenticate(self, name: str, password: str) -> User:
        """The user `name` if `password` is theirs; `LoginError` otherwise."""
        entry = self._entries().get(name.strip().lower())
        if entry is None or not verify_password(password, str(entry.get("password", ""))):
            raise LoginError("unknown user name or wrong password")
        role = entry.get("role", "member")
        if role not in ROLES:
            raise ConfigError(f"user {name!r} has the unknown role {role!r} in {self.path}; roles: {', '.join(ROLES)}")
        return User(name.strip().lower(), role)

    def add(self, name: str, password: str, role: str = "member") -> User:
        """Add a user or change their password and role (the file is rewritten atomically)."""
        if not USER_NAME.match(name):
            raise DFEError(f"user name {name!r}: use 1-32 lower-case letters, digits, `_ . -`")
        if role not in ROLES:
            raise DFEError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if len(password) < 8:
            raise DFEError("the password needs at least 8 characters")
        with file_lock(self.path.with_name(f".{self.path.name}.lock")):
            users = self._entries()
            users[name] = {"role": role, "password": hash_password(password)}
            with atomic_path(self.path) as tmp:
                tmp.write_text(yaml.safe_dump({"users": users}, sort_keys=True))
        return User(name, role)
