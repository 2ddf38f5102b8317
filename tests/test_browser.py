"""End to end in a real browser: the dashboard served by `streamlit run` on a free local port, driven
by Playwright in Debian's headless Chromium. One user's path through the app: the demo video's
results, started on first start, appear in the open library without a reload; then upload a video,
compute its flow, extract features, open the gallery, fine-tune and list a model version. Each page
is saved as a screenshot in `test-artifacts/browser/` (look at them: layout, labels, nothing cut off).

Chromium comes from Debian's `chromium` package (`scripts/test.sh` installs it), Playwright from
requirements-test.txt. Without either the test is skipped with the reason, unless
DFE_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, free_port, wait_until_healthy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_TIMEOUT_MS = 180_000

REQUIRED = os.environ.get("DFE_REQUIRE_BROWSER") == "1"  # CI: a missing browser or driver fails

if not Path(CHROMIUM).exists():
    if REQUIRED:
        raise RuntimeError("DFE_REQUIRE_BROWSER=1 but Debian's chromium is not installed (apt-get install chromium)")
    pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it with apt-get)",
                allow_module_level=True)
if REQUIRED:
    import playwright.sync_api as playwright  # an ImportError here fails the run
else:
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-test.txt")


@pytest.fixture(scope="module")
def server(tmp_path_factory, registry_dir):
    """`streamlit run dashboard/app.py` on a free port with an empty workspace; yields its URL."""
    workspace = tmp_path_factory.mktemp("workspace")
    port = free_port()
    env = {**os.environ, "DFE_WORKSPACE": str(workspace), "DFE_MODEL_DIR": str(registry_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 2400})
        tab.set_default_timeout(STEP_TIMEOUT_MS)
        yield tab
        browser.close()


def open_page(page, link: str, heading: str) -> None:
    """Go to another page through the sidebar, as a user does (the session and its choices stay)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading).wait_for()


# True once every image has loaded, every Plotly chart has drawn its SVG and every player knows its video.
DRAWN = """() => Array.from(document.images).every(image => image.complete)
    && Array.from(document.querySelectorAll('.js-plotly-plot')).every(chart => chart.querySelector('.main-svg'))
    && Array.from(document.querySelectorAll('video')).every(video => video.readyState >= 1)"""


def settle(page) -> None:
    """Waits until the page's script run has finished and its charts and media have drawn."""
    page.get_by_test_id("stStatusWidgetRunningIcon").wait_for(state="detached")
    page.wait_for_function(DRAWN)


def shoot(page, name: str) -> None:
    settle(page)
    assert page.get_by_text("Traceback").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_user_goes_from_upload_to_a_new_model_version(server, page, registry_dir, tmp_path):
    from core.registry.versions import ModelRegistry
    from core.video.synthetic import make_demo_video

    page.goto(server)
    page.get_by_role("heading", name="Library").wait_for()
    page.get_by_text("demo.mp4").first.wait_for()
    page.get_by_text("25.00 fps").first.wait_for()
    page.get_by_text("Features: yes").wait_for()  # the demo's results, computed on first start, appear by themselves
    page.get_by_text("Optical flow: dis (74 frames)").wait_for()
    shoot(page, "1_library")

    clip = make_demo_video(tmp_path / "street clip.mp4", num_frames=40)
    open_page(page, "Upload", "Upload")
    page.locator("input[type=file]").set_input_files(str(clip))
    page.get_by_text("street_clip.mp4").first.wait_for()
    copy = tmp_path / "same clip again.mp4"
    copy.write_bytes(clip.read_bytes())
    page.locator("input[type=file]").set_input_files(str(copy))  # the same bytes under another name
    page.get_by_text("is already in the workspace as street_clip.mp4").wait_for()
    shoot(page, "2_upload")

    open_page(page, "Optical flow", "Optical flow")
    page.get_by_role("button", name="Compute flow").click()
    page.get_by_text("39 flow frames at").wait_for()  # the page opened on the new upload (40 frames)
    page.locator("video").first.wait_for()
    # The page may redraw the player when the job finishes, and Chromium loads only metadata until asked
    # for a frame: poll the current element, seek it once to make it decode a frame.
    page.wait_for_function("""() => {
        const video = document.querySelector('video');
        if (!video || video.readyState < 1) return false;
        if (video.readyState < 2 && !video.dataset.seeked) { video.dataset.seeked = '1'; video.currentTime = 0.05; }
        return video.readyState >= 2;
    }""", timeout=60_000)
    playable = page.evaluate("""() => {
        const video = document.querySelector('video');
        return {h264: video.canPlayType('video/mp4; codecs="avc1.42E01E"'), width: video.videoWidth};
    }""")
    assert playable["h264"] in ("probably", "maybe") and playable["width"] == 320
    shoot(page, "3_flow")

    open_page(page, "Feature extraction", "Feature extraction")
    page.get_by_role("button", name="Extract features").click()
    page.get_by_text("windows x (1024,)").wait_for()
    page.locator(".js-plotly-plot").nth(2).wait_for()
    shoot(page, "4_features")

    open_page(page, "Visualisation gallery", "Temporal visualisation gallery")
    page.get_by_role("button", name="Generate views").click()
    page.get_by_role("button", name="Download feature_evolution.gif").wait_for()
    shoot(page, "5_gallery")

    open_page(page, "Compare", "Compare videos")
    shoot(page, "6_compare")
    open_page(page, "Evaluate", "Evaluate")
    shoot(page, "7_evaluate")

    open_page(page, "Model versions", "Model versions")
    epochs = page.get_by_label("Epochs (at most; early stopping)")
    epochs.fill("2")
    epochs.press("Enter")
    scenes = page.get_by_label("Scenes per motion")
    scenes.fill("2")
    scenes.press("Enter")
    for motion in ("pan_up", "pan_down", "zoom_in", "zoom_out", "rotate_cw", "rotate_ccw", "shake", "static"):
        page.get_by_role("button", name=f"Remove {motion}").click()
        page.get_by_role("button", name=f"Remove {motion}").wait_for(state="detached")
    settle(page)
    page.get_by_role("button", name="Start fine-tuning").click()
    page.get_by_text("new version v").wait_for()
    shoot(page, "8_models")
    registry = ModelRegistry(registry_dir, "dynamic_feature_extractor")
    parent, versions = registry.resolve("default"), registry.versions()
    child = versions[-1]
    metadata = registry.metadata(child)
    assert len(versions) == 3 and metadata["extra"]["parent_version"] == parent  # started from the alias
    assert metadata["weights_source"] == f"fine_tuned_from:{parent}"
    assert metadata["extra"]["classes"] == ["pan_left", "pan_right"] and metadata["extra"]["training"]["epochs"] == 2
    # 2 motions x 2 scenes, one 16-frame window per clip: one clip of each motion is held out
    metrics = metadata["metrics"]
    assert (metrics["train_windows"], metrics["val_windows"], metrics["epochs_run"]) == (2, 2, 2)
    page.get_by_text(f"new version {child}: validation accuracy {metrics['val_accuracy']:.3f}").wait_for()
