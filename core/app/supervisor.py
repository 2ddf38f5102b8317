"""Run the web server as a child process and stop it cleanly: `python -m core.app.supervisor
[--grace_s 8] -- <command...>` (what `scripts/serve.sh` starts), for the settings' workspace.

A container is stopped with SIGTERM and killed a grace period later (Docker: 10 s). The web server's
job workers may be in the middle of a long job, and Python waits for running jobs before it exits, so
on SIGTERM (or SIGINT) the supervisor first asks every queued and running job to stop
(`JobStore.interrupt_active`: they are marked `interrupted` within a progress report), then passes the
signal on to the server and waits for it; a server still alive after `grace_s` is killed, its workers
die with it (`exit_with_parent`) and the next start marks what they left.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.app.jobs import JobStore
from core.app.settings import load_settings
from core.app.workspace import Workspace

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def supervise(command: list[str], jobs_dir: str | Path, grace_s: float = 8.0) -> int:
    """Run `command` until it exits; on SIGTERM/SIGINT interrupt the jobs in `jobs_dir` and stop it
    (see module docstring). Returns its exit status (0 after a clean stop)."""
    server = subprocess.Popen(command)
    stopped_at: list[float] = []

    def stop(signum: int, _frame) -> None:
        if not stopped_at:
            stopped_at.append(time.monotonic())
            try:
                JobStore(jobs_dir).interrupt_active()
            except OSError as error:  # the workspace is gone or unwritable: the server must stop all the same
                print(f"supervisor: could not mark the jobs interrupted ({error}); the next start will",
                      file=sys.stderr)
            server.send_signal(signal.SIGTERM)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        while True:
            try:
                status = server.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if stopped_at and time.monotonic() - stopped_at[0] > grace_s:
                    server.kill()
        return 0 if stopped_at and status == -signal.SIGTERM else status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if server.poll() is None:  # never leave the server behind
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.app.supervisor",
                                     description="Run the web server; on SIGTERM interrupt its jobs, then stop it.")
    parser.add_argument("--grace_s", type=float, default=8.0, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the server command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the server command after --")
    return supervise(command, Workspace(load_settings().workspace).jobs_dir, args.grace_s)


if __name__ == "__main__":
    sys.exit(main())
