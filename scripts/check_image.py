"""The checks of `scripts/test_image.sh` on the served image (run with the test .venv on the host).

    .venv/bin/python scripts/check_image.py URL DATA_DIR SERVER_PID first|upgraded

first: the server runs as a non-root user; the default model is in the models folder; the demo
video's results appear; the 8 pages render (Playwright, Debian's chromium; screenshots in
test-artifacts/image/). It records the workspace's files (sha256), versions and aliases beside
DATA_DIR. upgraded: the same checks, and everything recorded is still there, unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.common.process import descendant_pids  # noqa: E402 - needs the path above
from core.registry.versions import MODEL_NAME, ModelRegistry  # noqa: E402

PAGES = {"Library": "Library", "Upload": "Upload", "Optical flow": "Optical flow",
         "Feature extraction": "Feature extraction", "Visualisation gallery": "Temporal visualisation gallery",
         "Compare": "Compare videos", "Evaluate": "Evaluate", "Model versions": "Model versions"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ARTIFACTS = ROOT / "test-artifacts" / "image"


def fail(message: str) -> None:
    print(f"check_image: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def server_users(server_pid: int) -> set[int]:
    """The real user ids of the processes that serve the dashboard (streamlit and its supervisor)."""
    users = set()
    for pid in [server_pid, *descendant_pids(server_pid)]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"streamlit" in command:
            users.add(int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1]))
    return users


def render_pages(url: str, phase: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.set_default_timeout(300_000)
        page.goto(url)
        page.get_by_role("heading", name="Library").wait_for()
        page.get_by_text("Features: yes").wait_for()  # the demo's flow and features, computed on first start
        for link, heading in PAGES.items():
            page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
            page.get_by_role("heading", name=heading).wait_for()
            page.wait_for_timeout(1500)
            if page.get_by_text("Traceback").count() or page.get_by_test_id("stException").count():
                fail(f"the {link} page shows an exception")
            page.screenshot(path=str(ARTIFACTS / f"{phase}_{link.replace(' ', '_').lower()}.png"))
        browser.close()


def snapshot(data: Path) -> dict:
    """The workspace's videos and results (sha256 per file), the registry's versions and aliases."""
    workspace = data / "workspace"
    files = {str(p.relative_to(workspace)): hashlib.sha256(p.read_bytes()).hexdigest()
             for folder in ("videos", "flow", "features") for p in sorted((workspace / folder).rglob("*"))
             if p.is_file() and not p.name.startswith(".")}
    registry = ModelRegistry(data / "models", MODEL_NAME)
    return {"files": files, "versions": registry.versions(), "aliases": registry.aliases()}


def main(url: str, data: str, server_pid: str, phase: str) -> None:
    data_dir = Path(data)
    users = server_users(int(server_pid))
    if not users or 0 in users:
        fail(f"the server runs as user(s) {sorted(users)}, expected the image's non-root user")
    registry = ModelRegistry(data_dir / "models", MODEL_NAME)
    if registry.metadata("default")["weights_source"] != "motion_curriculum":
        fail("the models folder has no default model with the shipped weights")
    render_pages(url, phase)
    now = snapshot(data_dir)
    record = data_dir.parent / "snapshot.json"
    if phase == "first":
        if not any(name.startswith("features/") for name in now["files"]):
            fail(f"no features in the workspace after the demo: {sorted(now['files'])}")
        record.write_text(json.dumps(now, indent=2))
    else:
        before = json.loads(record.read_text())
        lost = {name for name, digest in before["files"].items() if now["files"].get(name) != digest}
        if lost:
            fail(f"the upgrade lost or changed {sorted(lost)}")
        if not set(before["versions"]) <= set(now["versions"]):
            fail(f"the upgrade lost versions: {before['versions']} -> {now['versions']}")
        if now["aliases"].get("production") != before["aliases"].get("production"):
            fail(f"the upgrade moved or lost the alias production: {before['aliases']} -> {now['aliases']}")
    print(f"check_image: {phase}: server user(s) {sorted(users)}, {len(PAGES)} pages rendered, "
          f"{len(now['files'])} workspace files, versions {now['versions']}, aliases {now['aliases']}")


if __name__ == "__main__":
    main(*sys.argv[1:])
