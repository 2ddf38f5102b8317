"""Held-out measurement of motion features, per family: do clips with the same motion sit together?

Three evaluation sets, rendered by `core.training.curriculum` on the TEST photographs only (scenes
never used in training), each scored by leave-one-out 1-NN accuracy (cosine) of the Features:
- `object`: one object moving (the 8 rigid motions: left, right, up, down, grow, shrink, turn cw/ccw)
  over a real photograph seen by a still or slightly jittering camera; label = the object's motion.
- `camera`: the 10 camera motions over a real photograph, no moving object; label = camera motion.
- `composed`: the camera pans (4 directions) while an object translates on its own (4 directions);
  label = the pair, so a neighbour counts only if both parts agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np

from core.common.progress import ProgressCallback, no_progress
from core.evaluation.metrics import knn_loo_accuracy, knn_loo_predictions
from core.flow.computer import OpticalFlowComputer
from core.training.adaptation import clip_features, stack_preprocessed
from core.training.curriculum import (RIGID_OBJECT_MOTIONS, CurriculumClip, CurriculumSampler, ImageSource,
                                      iter_curriculum_flows)
from core.training.motion_dataset import MOTIONS

EVAL_FAMILIES = ("object", "camera", "composed")
PANS = ("pan_left", "pan_right", "pan_up", "pan_down")
TRANSLATIONS = ("left", "right", "up", "down")
TURNS = ("turn_cw", "turn_ccw")


@dataclass
class MotionFamilySet:
    """One evaluation set: its clips, integer labels `[N]` and the label names."""

    family: str
    clips: list[CurriculumClip]
    labels: np.ndarray
    label_names: list[str]


def family_sets(photographs: Sequence, scenes: int = 8, seed: int = 5,
                composed_scenes: int | None = None) -> dict[str, MotionFamilySet]:
    """The three sets (see module docstring) on the first `scenes` of `photographs` as backgrounds
    (camera: at most 6 of them; composed: the first `composed_scenes`, default at most 4); objects are
    cut from the same photographs or textures. The clips on the first scenes do not depend on
    `composed_scenes`, so a larger composed set extends the default one."""
    composed_scenes = min(4, scenes) if composed_scenes is None else composed_scenes
    sampler = CurriculumSampler(photographs, seed)
    backgrounds = [ImageSource("photo", str(p)) for p in list(photographs)[:max(scenes, composed_scenes)]]
    sets = {}
    clips = [sampler.clip("object", "static", [m], b) for b in backgrounds[:scenes] for m in RIGID_OBJECT_MOTIONS]
    sets["object"] = MotionFamilySet("object", clips, np.array([RIGID_OBJECT_MOTIONS.index(c.main_object_motion)
                                                                for c in clips]), list(RIGID_OBJECT_MOTIONS))
    clips = [sampler.clip("camera", m, [], b) for b in backgrounds[:min(6, scenes)] for m in MOTIONS]
    sets["camera"] = MotionFamilySet("camera", clips, np.array([c.camera_label for c in clips]), list(MOTIONS))
    pairs = [(p, t) for p in PANS for t in TRANSLATIONS]
    clips = [sampler.clip("composed", p, [t], b) for b in backgrounds[:composed_scenes] for p, t in pairs]
    sets["composed"] = MotionFamilySet("composed", clips, np.array([pairs.index((c.camera, c.main_object_motion))
                                                                    for c in clips]),
                                       [f"{p}+object_{t}" for p, t in pairs])
    return sets


def preprocess_sets(sets: dict[str, MotionFamilySet], computer: OpticalFlowComputer,
                    progress: ProgressCallback = no_progress) -> dict[str, np.ndarray]:
    """{family: preprocessed clips `[N, 16, 224, 224, 2] float32`} (flow by `computer`)."""
    return {name: stack_preprocessed(iter_curriculum_flows(s.clips, computer), len(s.clips), progress)
            for name, s in sets.items()}


def family_features(model: keras.Model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{family: the model's Features `[N, 1024]` of its preprocessed clips}."""
    return {name: clip_features(model, clips) for name, clips in inputs.items()}


def family_scores(sets: dict[str, MotionFamilySet], features: dict[str, np.ndarray]) -> dict[str, float]:
    """{family: leave-one-out 1-NN accuracy (cosine) of its Features (`family_features`)}."""
    return {name: knn_loo_accuracy(features[name], s.labels, 1) for name, s in sets.items()}


def nearest_labels(motion_set: MotionFamilySet, features: np.ndarray) -> np.ndarray:
    """Each clip's leave-one-out 1-NN label `[N]` (cosine) among the set's clips, from its `features`."""
    return knn_loo_predictions(features, motion_set.labels, 1)


def scores_by_label(motion_set: MotionFamilySet, predictions: np.ndarray) -> dict[str, float]:
    """{label name: share of that label's clips whose predicted label (`predictions` `[N]`, e.g.
    `nearest_labels`: neighbours searched among all the set's clips) is theirs}: e.g. how well a
    held-out object motion is told apart from the others."""
    return {name: float(np.mean(predictions[motion_set.labels == index] == index))
            for index, name in enumerate(motion_set.label_names) if np.any(motion_set.labels == index)}


def composed_part_scores(composed_set: MotionFamilySet, predictions: np.ndarray) -> dict[str, float]:
    """{"camera": share of composed clips whose predicted pair (`predictions` `[N]`, e.g. each clip's
    leave-one-out 1-NN's, `knn_loo_predictions`) has their pan, "object": share whose predicted pair
    has their object translation}: which part of the pair is lost."""
    pans, translations = np.divmod(composed_set.labels, len(TRANSLATIONS))
    predicted_pans, predicted_translations = np.divmod(predictions, len(TRANSLATIONS))
    return {"camera": float(np.mean(predicted_pans == pans)),
            "object": float(np.mean(predicted_translations == translations))}


def turn_scores(object_set: MotionFamilySet, predictions: np.ndarray) -> dict[str, float]:
    """How the object set's turns fare, given each clip's predicted label `predictions` `[N]` (e.g. its
    leave-one-out 1-NN's): `turns` (how many), `turning` (how many predicted a turn, either way),
    `right` (predicted their own turn), and how many features blind to a turn's direction would get
    right, each turn's neighbour one of the other turns drawn at random: `blind_mean` and `blind_sd`
    (binomial)."""
    turn_labels = [object_set.label_names.index(name) for name in TURNS]
    is_turn = np.isin(object_set.labels, turn_labels)
    turns = int(is_turn.sum())
    counts = np.array([np.sum(object_set.labels == label) for label in turn_labels])
    same_way = float(np.sum(counts * (counts - 1)) / max(turns * (turns - 1), 1))  # P(another turn turns the same way)
    return {"turns": turns, "turning": int(np.isin(predictions[is_turn], turn_labels).sum()),
            "right": int(np.sum(predictions[is_turn] == object_set.labels[is_turn])),
            "blind_mean": turns * same_way, "blind_sd": float(np.sqrt(turns * same_way * (1 - same_way)))}
