"""Process-wide settings, made once by an entry point (the CLI, a job or batch worker, a benchmark).

OpenCV's thread count and log level belong to the whole process: a library function that changed
them for a while would change them under every other thread too. So no module of `core` touches
them; each entry point calls `configure_process` once, before any work starts.

Also the processes' family ties that workers, servers and their tests rely on: a worker exits with
its parent (`exit_with_parent`), and `child_pids` / `descendant_pids` read who is whose from /proc.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import cv2


def available_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def configure_process(opencv_threads: int = 1) -> None:
    """Quiet FFmpeg/TensorFlow start-up chatter, OpenCV logs errors only (failures are reported as
    `core.errors` exceptions instead), and `opencv_threads` threads inside OpenCV.

    The default, 1, suits this project: `OpticalFlowComputer` runs frame pairs on its own threads,
    one pair per core, so OpenCV's own threads would only compete with them.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cv2.setNumThreads(opencv_threads)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def exit_with_parent(parent_pid: int, interval_s: float = 0.5) -> threading.Thread:
    """In a worker process: kill this process within `interval_s` of `parent_pid` dying (a SIGKILLed
    server or batch driver must not leave its workers running, idle and holding memory for good).

    A daemon thread watches the parent id: when the parent dies, the worker is handed to another
    process (init or a subreaper) and its parent id changes. (Linux' PR_SET_PDEATHSIG is not used: it
    fires when the *thread* that started the worker ends, and pool workers are started from
    short-lived threads.)
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGKILL)

    watcher = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    watcher.start()
    return watcher


def _process_tree() -> dict[int, list[int]]:
    """Parent id -> ids of its live (not zombie) children, from Linux' /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat_file:
                    state, parent = stat_file.read().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):  # gone meanwhile
                continue
            if state != "Z":
                tree.setdefault(int(parent), []).append(int(entry.name))
    return tree


def child_pids(parent: int) -> list[int]:
    """The live child processes of `parent` (Linux)."""
    return _process_tree().get(parent, [])


def descendant_pids(root: int) -> list[int]:
    """The live processes below `root`: its children, their children, ... (Linux)."""
    tree = _process_tree()
    found, todo = [], list(tree.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += tree.get(pid, [])
    return found
