"""The default flow-stream weights, `motion_curriculum`: trained here to see camera and object motion.

Recipe (`core.training.recipe.CurriculumRecipe`): an initialisation (`core.weights.flow_stream`),
BatchNorm statistics re-estimated on curriculum flow clips (AdaBN), then the blocks after `boundary`
(Mixed_5b/5c) trained with three heads on Features (`train_motion_heads`): the camera's motion
(softmax), which object motions the clip shows (multi-hot), and the layout, how fast the fastest of
4x4 regions moves each way relative to the camera in each half of the clip
(`core.training.flow_layout`, `strongest_regions`), with a contrastive loss on the Features
themselves that puts clips sharing more of their motion nearer (`core.training.contrastive`). A
second stage then trains deeper, the blocks after an earlier `deeper_boundary` (Mixed_4f, 5b, 5c),
with fresh heads, starting from the first stage's result. Each clip's flow comes from one of the
recipe's flow methods, drawn per clip. Training clips come from `core.training.curriculum` on the
TRAIN photographs and textures, the families in turn (camera, object, object, composed, composed:
objects move in four clips of five). Held out, and measured by `core.training.motion_families`: the
TEST photographs, and the composed family the evaluation uses (the camera panning while an object
translates): composed training clips pair pans only with objects that scale, turn, swing or deform.

A run keeps its clip pass (flow, AdaBN, the boundary's activations) on disk, in chunks
(`core.training.clip_pass_cache`): a killed run resumes at its first missing chunk, and a run that
changes only the training (epochs, loss weights) trains at once.

The result is shipped in the repository (`MOTION_CURRICULUM_PATH`, float16, with its measurements
beside it), so set-up never waits for it; `python -m core weights train-default` makes it again.
"""

from __future__ import annotations

from dataclasses import asdict
from itertools import chain
from typing import Iterable, Iterator
from pathlib import Path

import keras
import numpy as np

from core.common.progress import ProgressCallback, no_progress
from core.errors import ConfigError
from core.features.sequences import preprocess_flow
from core.flow.computer import OpticalFlowComputer
from core.training.adaptation import (ADABN_CLIPS, EpochProgress, MotionLosses, adabn_on_clips, activations_between,
                                      cache_activations, counted, redraw_upper_blocks, train_motion_heads)
from core.training.clip_pass_cache import ClipPassCache
from core.training.contrastive import layout_label_columns
from core.training.curriculum import (OBJECT_MOTIONS, RENDERING, CurriculumClip, CurriculumSampler,
                                     curriculum_clip_flow, motion_parameters)
from core.training.flow_layout import camera_relative, flow_layout, strongest_regions
from core.training.motion_dataset import MOTIONS
from core.training.motion_families import (PANS, TRANSLATIONS, family_features, family_scores, family_sets,
                                          nearest_labels, preprocess_sets, scores_by_label)
from core.training.photographs import photograph_paths
from core.training.recipe import CurriculumRecipe
from core.weights.flow_stream import MOTION_CURRICULUM_PATH, build_flow_i3d
from core.weights.kinetics import WEIGHTS_DIR
from core.weights.packed import save_packed_weights

HELD_OUT_PAIRS = {pan: TRANSLATIONS for pan in PANS}
CHUNK_CLIPS = 100  # clips per cached chunk of the clip pass: 33 MB at MaxPool3d_5a_2x2, 165 MB at Mixed_4e
CLIP_PASS_CACHE = WEIGHTS_DIR / "train-default-cache"
OBJECT_TARGETS = {"present": "object_labels", "area_share": "object_shares"}


def training_clips(recipe: CurriculumRecipe) -> list[CurriculumClip]:
    """The recipe's training clips, from the TRAIN photographs and textures, HELD_OUT_PAIRS and the
    recipe's held-out object motions excluded."""
    unknown = set(recipe.held_out_objects) - set(OBJECT_MOTIONS)
    if unknown:
        raise ConfigError(f"unknown object motion(s) {sorted(unknown)} to hold out; choose from {OBJECT_MOTIONS}")
    sampler = CurriculumSampler(photograph_paths("train"), recipe.seed, composed_exclusions=HELD_OUT_PAIRS,
                                object_motions=[m for m in OBJECT_MOTIONS if m not in recipe.held_out_objects],
                                single_object_share=recipe.single_object_share, max_objects=recipe.max_objects,
                                object_sizes=recipe.object_sizes, slowest_object=recipe.slowest_object,
                                random_swing_phase=recipe.random_swing_phase)
    return sampler.clips(recipe.clips, recipe.families)


def object_targets(clips: list[CurriculumClip], kind: str) -> np.ndarray:
    """`[N, len(OBJECT_MOTIONS)] float32` targets of the object head (see `CurriculumRecipe`)."""
    if kind not in OBJECT_TARGETS:
        raise ConfigError(f"unknown object targets {kind!r}; choose from {sorted(OBJECT_TARGETS)}")
    return np.stack([getattr(clip, OBJECT_TARGETS[kind]) for clip in clips])


def clip_flow_methods(recipe: CurriculumRecipe, count: int) -> list[str]:
    """The flow method of each of `count` training clips, drawn from the recipe's with its seed (on
    a stream of its own, so the methods do not follow the families' turns)."""
    rng = np.random.default_rng([recipe.seed, len(recipe.flow_methods)])
    return [recipe.flow_methods[i] for i in rng.integers(len(recipe.flow_methods), size=count)]


def preprocessed_flows(clips: list[CurriculumClip], methods: list[str],
                       computers: dict[str, OpticalFlowComputer]) -> Iterator[np.ndarray]:
    """Each clip's I3D-preprocessed flow `[16, 224, 224, 2] float32` in [-1, 1], by its method
    (`methods[i]` for `clips[i]`); `computers` holds one `OpticalFlowComputer` per method."""
    for clip, method in zip(clips, methods):
        yield preprocess_flow(curriculum_clip_flow(clip, computers[method]))


def flow_computers(methods: Iterable[str]) -> dict[str, OpticalFlowComputer]:
    return {method: OpticalFlowComputer(method) for method in methods}


def clip_pass(model: keras.Model, clips: list[CurriculumClip], recipe: CurriculumRecipe,
              computers: dict[str, OpticalFlowComputer], cache: ClipPassCache,
              progress: ProgressCallback = no_progress, total: int | None = None,
              chunk_clips: int = CHUNK_CLIPS) -> dict[str, np.ndarray]:
    """AdaBN on the first ADABN_CLIPS clips, then the boundary's `activations` `[N, ...]` of every
    clip (and, if the recipe has a layout head, its `layouts` targets `[N, D]`), `chunk_clips` clips
    at a time. What `cache` holds is loaded, not made again; what is made is saved there, so a
    killed pass resumes at its first missing chunk. The clips never sit in memory together
    (only the AdaBN clips, until their chunks are done). Progress counts clips, of `total`."""
    total = total or len(clips)
    methods = clip_flow_methods(recipe, len(clips))
    first: list[np.ndarray] = []
    if not cache.load_adabn(model):
        first = list(preprocessed_flows(clips[:ADABN_CLIPS], methods, computers))
        adabn_on_clips(model, np.stack(first), count=ADABN_CLIPS)
        cache.save_adabn(model)
    passed: dict[str, np.ndarray] = {}
    for start, stop in chunk_spans(len(clips), chunk_clips):
        chunk = cache.load_chunk(start, stop)
        if chunk is None:
            made = start + len(first[start:stop])  # clips of the chunk whose flow AdaBN made
            inputs = chain(first[start:stop], preprocessed_flows(clips[made:stop], methods[made:stop], computers))
            chunk = boundary_chunk(model, counted(inputs, progress, total, done=start), recipe)
            cache.save_chunk(start, stop, chunk)
        else:
            progress(stop, total)
        for name, values in chunk.items():  # filled in place: the pass never holds its arrays twice
            if name not in passed:
                passed[name] = np.empty((len(clips), *values.shape[1:]), values.dtype)
            passed[name][start:stop] = values
        if stop >= len(first):
            first = []
    return passed


def chunk_spans(count: int, chunk_clips: int = CHUNK_CLIPS) -> list[tuple[int, int]]:
    """The [start, stop) clip spans of `clip_pass`'s chunks for `count` clips."""
    return [(start, min(start + chunk_clips, count)) for start in range(0, count, chunk_clips)]


def boundary_chunk(model: keras.Model, clips: Iterable[np.ndarray],
                   recipe: CurriculumRecipe) -> dict[str, np.ndarray]:
    """The pass boundary's `activations` of preprocessed flow clips and, with a layout head, their `layouts`."""
    layouts = []
    noted = (_noting_layout(clip, recipe, layouts) for clip in clips)
    activations = cache_activations(model, noted, recipe.pass_boundary)
    return {"activations": activations, **({"layouts": np.stack(layouts)} if layouts else {})}


def train_on_curriculum(model: keras.Model, clips: list[CurriculumClip], recipe: CurriculumRecipe,
                        cache: ClipPassCache, computers: dict[str, OpticalFlowComputer] | None = None,
                        progress: ProgressCallback = no_progress) -> dict[str, list[float]]:
    """`clip_pass` (resumed from `cache`), then each of the recipe's training stages; in place.
    `computers`: as `preprocessed_flows` (None: `flow_computers` of the recipe). Progress counts
    clips, then epochs. Returns the stages' histories, epoch after epoch."""
    total = len(clips) + sum(epochs for _, epochs in recipe.stages)
    passed = clip_pass(model, clips, recipe, computers or flow_computers(recipe.flow_methods), cache,
                       progress, total)
    # The blocks between two stages' boundaries are frozen in the first, so its activations are made
    # from the pass's by the model as it is now.
    inputs = {boundary: activations_between(model, passed["activations"], recipe.pass_boundary, boundary)
              for boundary, _ in recipe.stages}
    history: dict[str, list[float]] = {}
    done = len(clips)
    if recipe.fresh_upper:
        redraw_upper_blocks(model, recipe.boundary, inputs[recipe.boundary], recipe.seed)
    regressions = regression_targets(clips, recipe, passed.get("layouts"))
    extra_labels = contrastive_layout_labels(recipe, passed.get("layouts"))
    for boundary, epochs in recipe.stages:
        stage = train_stage(model, inputs[boundary], clips, recipe, boundary, epochs, regressions,
                            callbacks=[EpochProgress(progress, total, done=done)], contrastive_extra=extra_labels)
        for key, values in stage.items():
            history.setdefault(key, []).extend(values)
        done += epochs
    return history


def regression_targets(clips: list[CurriculumClip], recipe: CurriculumRecipe,
                       layouts: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, float]]:
    """{head: (targets `[N, D]`, loss weight)} of the recipe's regression heads over `clips`: the layout
    head on `layouts` (the clip pass's, if the recipe has one; pooled as `layout_pooling` says), the
    motion parameter head on each clip's `motion_parameters` (if the recipe has one)."""
    regressions = {}
    if layouts is not None:
        if recipe.layout_pooling == "max":
            layouts = strongest_regions(layouts, recipe.layout_grid, recipe.layout_periods)
        regressions["layout"] = (layouts, recipe.layout_weight)
    if recipe.parameter_weight:
        regressions["parameters"] = (np.stack([motion_parameters(c, periods=recipe.parameter_periods) for c in clips]),
                                     recipe.parameter_weight)
    return regressions


def contrastive_layout_labels(recipe: CurriculumRecipe, layouts: np.ndarray | None) -> np.ndarray | None:
    """The contrastive loss's extra label columns `[N, periods * 4]` if the recipe asks
    (`contrastive_layout`): the clip pass's `layouts` pooled to their `strongest_regions`, scaled by
    `layout_label_columns`; else None."""
    if not recipe.contrastive_layout or layouts is None:
        return None
    return layout_label_columns(strongest_regions(layouts, recipe.layout_grid, recipe.layout_periods),
                                recipe.contrastive_layout)


def train_stage(model: keras.Model, activations: np.ndarray, clips: list[CurriculumClip], recipe: CurriculumRecipe,
                boundary: str, epochs: int, regressions: dict[str, tuple[np.ndarray, float]],
                callbacks: list[keras.callbacks.Callback] = (),
                contrastive_extra: np.ndarray | None = None) -> dict[str, list[float]]:
    """One training stage: the blocks after `boundary`, from `boundary`'s `activations` of `clips`, with
    the recipe's heads, losses and seed, the `regressions` heads (`regression_targets`) and the
    contrastive labels' `contrastive_extra` columns (`contrastive_layout_labels`); in place."""
    losses = MotionLosses(object_weight=recipe.object_weight, regressions=regressions,
                          contrastive_weight=recipe.contrastive_weight,
                          contrastive_projection=recipe.contrastive_projection, contrastive_extra=contrastive_extra,
                          neighbour_weight=recipe.neighbour_weight)
    return train_motion_heads(model, activations, np.array([c.camera_label for c in clips]),
                              object_targets(clips, recipe.object_targets), boundary=boundary, epochs=epochs,
                              seed=recipe.seed, losses=losses, callbacks=list(callbacks))


def _noting_layout(clip: np.ndarray, recipe: CurriculumRecipe, layouts: list[np.ndarray]) -> np.ndarray:
    """`clip` (preprocessed flow) unchanged; its `flow_layout` appended to `layouts` if the recipe asks."""
    if recipe.layout_grid:
        layouts.append(layout_target(clip, recipe))
    return clip


def layout_target(clip: np.ndarray, recipe: CurriculumRecipe) -> np.ndarray:
    """The layout head's target `[layout_periods * layout_grid ** 2 * 4] float32` for one preprocessed
    flow clip `[T, H, W, 2]` (see `CurriculumRecipe`)."""
    flow = camera_relative(clip) if recipe.layout_camera_relative else clip
    return flow_layout(flow, recipe.layout_grid, recipe.layout_periods)


def make_motion_curriculum(recipe: CurriculumRecipe = CurriculumRecipe(), target: Path = MOTION_CURRICULUM_PATH,
                           progress: ProgressCallback = no_progress, cache_root: Path = CLIP_PASS_CACHE) -> Path:
    """Train the default (see module docstring), measure it on the held-out families and save both.
    The clip pass is kept under `cache_root` (`ClipPassCache`): a run resumes what one before it left."""
    recipe.check()  # a wrong boundary or pooling fails now, not after the clips' flow
    computers = flow_computers(recipe.flow_methods)
    clips = training_clips(recipe)
    model = build_flow_i3d(recipe.init)
    history = train_on_curriculum(model, clips, recipe, ClipPassCache(cache_root, recipe), computers, progress)
    sets = family_sets(photograph_paths("test"))
    features = family_features(model, preprocess_sets(sets, computers[recipe.flow_methods[0]]))
    return save_packed_weights(model, target, {
        "recipe": asdict(recipe), "rendering": RENDERING,
        "held_out": {"photographs": "the TEST photographs (core.training.photographs)",
                     "composed_pairs": {camera: list(objects) for camera, objects in HELD_OUT_PAIRS.items()},
                     "object_motions": list(recipe.held_out_objects)},
        "camera_motions": list(MOTIONS), "object_motions": list(OBJECT_MOTIONS),
        "eval_knn1_accuracy": family_scores(sets, features),
        "eval_object_knn1_by_motion": scores_by_label(sets["object"], nearest_labels(sets["object"],
                                                                                     features["object"])),
        "eval_clips": {name: len(s.clips) for name, s in sets.items()},
        "final_train": {key: values[-1] for key, values in history.items()}})
