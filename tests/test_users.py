"""Login: salted password hashes, the users file, roles; and the audit log."""

from __future__ import annotations

import json
import threading

import pytest

from core.app.audit import AuditLog
from core.app.users import LoginError, User, UserDirectory, hash_password, verify_password
from core.errors import ConfigError, DFEError


def test_password_hashes_are_salted_and_verified():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$16384$8$1$")  # a new salt each time
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)
    assert not verify_password("correct horse", "plain-text") and not verify_password("x", "")


def test_users_log_in_with_their_password_and_get_their_role(tmp_path):
    users = UserDirectory(tmp_path / "users.yaml")
    users.add("ann", "ann-secret-1", "admin")
    users.add("bob", "bob-secret-1")
    assert users.authenticate("ann", "ann-secret-1") == User("ann", "admin")
    assert users.authenticate(" Bob ", "bob-secret-1") == User("bob", "member")
    for name, password in (("bob", "ann-secret-1"), ("eve", "anything-1"), ("bob", "")):
        with pytest.raises(LoginError, match="unknown user name or wrong password"):
            users.authenticate(name, password)
    stored = (tmp_path / "users.yaml").read_text()
    assert "secret" not in stored and stored.count("scrypt$") == 2
    users.add("bob", "new-secret-2")
    with pytest.raises(LoginError):
        users.authenticate("bob", "bob-secret-1")
    assert users.authenticate("bob", "new-secret-2").role == "member"


def test_bad_users_and_files_are_clear_errors(tmp_path):
    users = UserDirectory(tmp_path / "users.yaml")
    with pytest.raises(DFEError, match="user name"):
        users.add("../root", "long-enough")
    with pytest.raises(DFEError, match="unknown role"):
        users.add("carl", "long-enough", "owner")
    with pytest.raises(DFEError, match="at least 8"):
        users.add("carl", "short")
    (tmp_path / "users.yaml").write_text("users: [ann, bob]\n")
    with pytest.raises(ConfigError, match="must hold"):
        users.authenticate("ann", "x")
    (tmp_path / "users.yaml").write_text("users:\n  dan: {role: king, password: '" + hash_password("dan-pass-1") + "'}\n")
    with pytest.raises(ConfigError, match="unknown role 'king'"):
        users.authenticate("dan", "dan-pass-1")


def test_the_audit_log_keeps_every_entry_of_concurrent_writers(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    start = threading.Barrier(4)

    def write(who: str) -> None:
        start.wait()
        for i in range(50):
            log.record(who, "upload", f"clip{i}.mp4", size=i * 1000, note="x" * 300)

    threads = [threading.Thread(target=write, args=(f"user{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["action"] == "upload" for line in lines)
    newest = log.entries(limit=3)
    assert len(newest) == 3 and newest[0] == json.loads(lines[-1])
    assert sorted(e["target"] for e in log.entries() if e["user"] == "user2") == sorted(f"clip{i}.mp4" for i in range(50))
    with pytest.raises(DFEError, match="unknown audit action"):
        log.record("ann", "reboot")
