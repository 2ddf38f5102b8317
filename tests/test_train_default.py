"""`python -m core weights train-default` on 6 clips: its first steps still run (the clip pass, then
both training stages of the recipe, nothing below the deeper boundary trained), a run killed
mid-pass resumes at its first missing chunk and ends with what the uninterrupted run made, the
pass's cache key follows the fields the pass depends on (a longer pass starts with a shorter one's
clips), and the recipe with no options is the one the shipped weights record."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, wait_for
from core.flow.computer import OpticalFlowComputer
from core.training import curriculum
from core.training.clip_pass_cache import ClipPassCache
from core.training.motion_curriculum import clip_flow_methods, clip_pass, train_on_curriculum, training_clips
from core.training.recipe import CurriculumRecipe
from core.weights.flow_stream import MOTION_CURRICULUM_PATH, build_flow_i3d
from core.weights.packed import read_packed_metadata

# The shipped recipe's steps, small: 6 clips, one epoch per stage, the optional layout and motion
# parameter heads and contrastive loss (the layout among its labels) too.
RECIPE = CurriculumRecipe(clips=6, epochs=1, init="random", layout_grid=2, layout_periods=2, parameter_weight=0.5,
                          deeper_boundary="Mixed_4e", deeper_epochs=1, contrastive_weight=0.5, contrastive_layout=1.0)
CHUNK = 2  # clips per chunk in the killed pass (the uninterrupted run keeps all 6 in one)
KERNELS = ("Mixed_4e", "Mixed_4f", "Mixed_5c")


def kernel(model, block: str) -> np.ndarray:
    return model.get_layer(f"{block}_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0].copy()


def computers() -> dict[str, OpticalFlowComputer]:
    return {"dis": OpticalFlowComputer("dis", workers=1)}


@dataclass
class Run:
    """One uninterrupted `train_on_curriculum` of RECIPE."""
    cache_root: Path
    history: dict[str, list[float]]
    steps: list[tuple[int, int]]
    before: dict[str, np.ndarray]  # KERNELS' first kernels before and after training
    after: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, opencv_doc) -> Run:
    root = tmp_path_factory.mktemp("uninterrupted")
    model = build_flow_i3d("random", seed=3)
    before = {block: kernel(model, block) for block in KERNELS}
    steps = []
    history = train_on_curriculum(model, training_clips(RECIPE), RECIPE, ClipPassCache(root, RECIPE), computers(),
                                  progress=lambda done, total: steps.append((done, total)))
    return Run(root, history, steps, before, {block: kernel(model, block) for block in KERNELS})


def test_the_default_recipe_runs_its_first_steps(uninterrupted):
    """AdaBN, Mixed_4e activations, five-headed training of the blocks after MaxPool3d_5a_2x2, then
    of those after Mixed_4e."""
    assert set(uninterrupted.history) >= {"camera_accuracy", "objects_accuracy", "layout_loss", "parameters_loss",
                                          "embedding_loss", "loss"}
    assert len(uninterrupted.history["loss"]) == 2  # one epoch per stage
    np.testing.assert_array_equal(uninterrupted.after["Mixed_4e"], uninterrupted.before["Mixed_4e"])
    for trained in ("Mixed_4f", "Mixed_5c"):
        assert not np.array_equal(uninterrupted.after[trained], uninterrupted.before[trained]), trained
    steps = uninterrupted.steps
    assert steps[-1] == (8, 8) and [done for done, _ in steps] == list(range(1, 9))  # 6 clips, then 1 + 1 epochs
    assert [p.parent.name for p in uninterrupted.cache_root.rglob("clips-*.npz")] == ["Mixed_4e"]


def pass_script(root) -> str:
    """The clip pass of `run_pass`, as a program for a process of its own."""
    return f"""
from core.flow.computer import OpticalFlowComputer
from core.training.clip_pass_cache import ClipPassCache
from core.training.motion_curriculum import clip_pass, training_clips
from core.training.recipe import CurriculumRecipe
from core.weights.flow_stream import build_flow_i3d
recipe = {RECIPE!r}
clip_pass(build_flow_i3d("random", seed=3), training_clips(recipe), recipe,
          {{"dis": OpticalFlowComputer("dis", workers=1)}}, ClipPassCache({str(root)!r}, recipe), chunk_clips={CHUNK})
"""


def test_a_clip_pass_killed_mid_way_resumes_where_it_stopped(tmp_path, uninterrupted):
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
    resumed = clip_pass(build_flow_i3d("random", seed=3), training_clips(RECIPE), RECIPE, computers(), cache,
                        lambda done, total: steps.append((done, total)), chunk_clips=CHUNK)
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # loaded, not made again
    done = [d for d, _ in steps]
    assert steps[0] == (CHUNK, 6) and done == sorted(done) and done[-1] == 6
    assert done[1] in (CHUNK + 1, 2 * CHUNK)  # the next clip made, or the second chunk if it was saved in time

    whole = ClipPassCache(uninterrupted.cache_root, RECIPE).load_chunk(0, 6)  # the uninterrupted run's one chunk
    assert resumed["activations"].shape == (6, 4, 14, 14, 528) and resumed["layouts"].shape == (6, 32)
    for name in ("activations", "layouts"):
        np.testing.assert_allclose(resumed[name], whole[name], rtol=0, atol=1e-5, err_msg=name)
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.rglob("*"))


def test_the_cache_key_follows_what_the_clip_pass_depends_on(tmp_path, monkeypatch):
    recipe = CurriculumRecipe(deeper_boundary="", deeper_epochs=0)  # one stage
    folder = ClipPassCache(tmp_path, recipe).folder
    for unkeyed in (dict(epochs=3), dict(object_weight=1.0), dict(object_targets="area_share"),
                    dict(layout_weight=2.0), dict(layout_pooling="none"),
                    dict(parameter_weight=1.0, parameter_periods=4),
                    dict(deeper_boundary="Mixed_4e", deeper_epochs=4),
                    dict(fresh_upper=True), dict(contrastive_weight=0.0), dict(contrastive_projection=256),
                    dict(neighbour_weight=0.5), dict(contrastive_layout=1.0), dict(clips=4800)):
        assert ClipPassCache(tmp_path, replace(recipe, **unkeyed)).folder == folder, unkeyed
    for pass_field in (dict(clips=10), dict(seed=1), dict(flow_methods=("dis", "farneback")), dict(init="random"),
                       dict(held_out_objects=("turn_cw",)), dict(layout_grid=2), dict(layout_periods=1)):
        assert ClipPassCache(tmp_path, replace(recipe, **pass_field)).folder != folder, pass_field
    monkeypatch.setattr(curriculum, "RENDERING", curriculum.RENDERING + 1)  # clips rendered otherwise
    assert ClipPassCache(tmp_path, recipe).folder != folder
    monkeypatch.undo()
    deeper = ClipPassCache(tmp_path, replace(recipe, boundary="Mixed_4e"))
    assert deeper.adabn_path == ClipPassCache(tmp_path, recipe).adabn_path  # AdaBN does not depend on it
    assert deeper.chunk_path(0, 100) != ClipPassCache(tmp_path, recipe).chunk_path(0, 100)
    two_stages = ClipPassCache(tmp_path, replace(recipe, deeper_boundary="Mixed_4e", deeper_epochs=4))
    assert two_stages.chunk_path(0, 100) == deeper.chunk_path(0, 100)  # the pass keeps the earliest boundary


def test_a_longer_clip_pass_starts_with_a_shorter_ones_clips(opencv_doc):
    """Why `clips` is not in the cache key (past AdaBN's clips): clip i, its flow method and its chunk
    file are the same in a pass of any length."""
    recipe = CurriculumRecipe(flow_methods=("dis", "tvl1_dis", "farneback"))
    longer = replace(recipe, clips=300)
    assert training_clips(longer)[:200] == training_clips(replace(recipe, clips=200))
    assert clip_flow_methods(longer, 300)[:200] == clip_flow_methods(recipe, 200)
    assert len(set(clip_flow_methods(longer, 300))) == 3
    assert ClipPassCache("cache", longer).chunk_path(100, 200) == ClipPassCache("cache", recipe).chunk_path(100, 200)


def test_train_default_with_no_options_makes_the_shipped_weights_recipe():
    shipped = read_packed_metadata(MOTION_CURRICULUM_PATH)["recipe"]
    assert shipped == json.loads(json.dumps(asdict(CurriculumRecipe())))
    assert CurriculumRecipe().stages == [("MaxPool3d_5a_2x2", 15), ("Mixed_4e", 4)]  # Mixed_5b/5c, then from 4f
