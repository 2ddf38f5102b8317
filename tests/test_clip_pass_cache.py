"""train-default's clip pass on disk: a run killed mid-pass resumes at its first missing chunk and ends
with what an uninterrupted run makes; the cache's key follows the fields the pass depends on."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np

from conftest import ROOT, wait_for
from core.flow.computer import OpticalFlowComputer
from core.training.clip_pass_cache import ClipPassCache
from core.training.motion_curriculum import CurriculumRecipe, clip_pass, training_clips
from core.weights.flow_stream import build_flow_i3d

RECIPE = CurriculumRecipe(clips=6, init="random")
CHUNK = 2


def pass_script(root) -> str:
    """The clip pass of `run_pass`, as a program for a process of its own."""
    return f"""
from core.flow.computer import OpticalFlowComputer
from core.training.clip_pass_cache import ClipPassCache
from core.training.motion_curriculum import CurriculumRecipe, clip_pass, training_clips
from core.weights.flow_stream import build_flow_i3d
recipe = {RECIPE!r}
clip_pass(build_flow_i3d("random", seed=3), training_clips(recipe), recipe,
          {{"dis": OpticalFlowComputer("dis", workers=1)}}, ClipPassCache({str(root)!r}, recipe), chunk_clips={CHUNK})
"""


def run_pass(root, progress=lambda done, total: None) -> dict[str, np.ndarray]:
    return clip_pass(build_flow_i3d("random", seed=3), training_clips(RECIPE), RECIPE,
                     {"dis": OpticalFlowComputer("dis", workers=1)}, ClipPassCache(root, RECIPE), progress,
                     chunk_clips=CHUNK)


def test_a_clip_pass_killed_mid_way_resumes_where_it_stopped(tmp_path, opencv_doc):
    cache = ClipPassCache(tmp_path / "cache", RECIPE)
    first_chunk = cache.chunk_path(0, CHUNK)
    worker = subprocess.Popen([sys.executable, "-c", pass_script(tmp_path / "cache")], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: first_chunk.exists() or worker.poll() is not None, 300, "the first chunk of clips")
        assert worker.poll() is None, f"the pass ended before it could be killed: {worker.stderr.read()}"
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait()
    kept = {path: path.stat().st_mtime_ns for path in (cache.adabn_path, first_chunk)}
    assert not cache.chunk_path(2 * CHUNK, 3 * CHUNK).exists()

    steps = []
    resumed = run_pass(tmp_path / "cache", lambda done, total: steps.append((done, total)))
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # loaded, not made again
    done = [d for d, _ in steps]
    assert steps[0] == (CHUNK, 6) and done == sorted(done) and done[-1] == 6
    assert done[1] in (CHUNK + 1, 2 * CHUNK)  # the next clip made, or the second chunk if it was saved in time

    whole = run_pass(tmp_path / "whole")
    assert resumed["activations"].shape == (6, 2, 7, 7, 832)
    np.testing.assert_allclose(resumed["activations"], whole["activations"], rtol=0, atol=1e-5)
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "whole").rglob("*"))


def test_the_cache_key_follows_what_the_clip_pass_depends_on(tmp_path):
    recipe = CurriculumRecipe()
    folder = ClipPassCache(tmp_path, recipe).folder
    for training_only in (dict(epochs=3), dict(object_weight=1.0), dict(object_targets="area_share"),
                          dict(layout_weight=2.0), dict(deeper_boundary="Mixed_4e", deeper_epochs=4)):
        assert ClipPassCache(tmp_path, replace(recipe, **training_only)).folder == folder, training_only
    for pass_field in (dict(clips=100), dict(seed=1), dict(flow_methods=("dis", "farneback")), dict(init="random"),
                       dict(held_out_objects=("turn_cw",)), dict(layout_grid=4)):
        assert ClipPassCache(tmp_path, replace(recipe, **pass_field)).folder != folder, pass_field
    deeper = ClipPassCache(tmp_path, replace(recipe, boundary="Mixed_4e"))
    assert deeper.adabn_path == ClipPassCache(tmp_path, recipe).adabn_path  # AdaBN does not depend on it
    assert deeper.chunk_path(0, 100) != ClipPassCache(tmp_path, recipe).chunk_path(0, 100)
    two_stages = ClipPassCache(tmp_path, replace(recipe, deeper_boundary="Mixed_4e", deeper_epochs=4))
    assert two_stages.chunk_path(0, 100) == deeper.chunk_path(0, 100)  # the pass keeps the earliest boundary
