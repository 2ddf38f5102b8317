"""Do the flow-stream features see every kind of motion? Per family, on scenes and families never trained on.

Rows: flow-stream weights (random init, cross-modal xy, motion_adapted, the default motion_curriculum),
and first a reference without a network, `flow_summary`: the camera's mean flow each way and the
fastest camera-relative region's, per half clip (what the flow holds, read the way the families are
labelled; it cannot tell zooms and rotations apart).
Columns, all leave-one-out 1-NN accuracy (cosine) of each row's features (the 1024-d Features; 16 numbers
for flow_summary):
- object / camera / composed: `core.training.motion_families` on the TEST photographs (opencv-doc),
  which no training saw; composed camera+object clips are a family no training saw either.
- reversed: on the object set, the share of clips whose features are closer to a clip of the same
  motion on another scene than to the same clip played backwards (1.0: direction always matters).
- vtest L/R: real video (opencv-doc's `vtest.avi`, people walking, all 795 frames): non-overlapping
  16-frame windows of 6 tiles of the frame, labelled by where their moving pixels go (mean dx of pixels moving over
  0.5 px/frame: left or right; tiles with little or mixed motion are left out); 1-NN accuracy
  against the majority-class share printed below the table.
Below the table: with random init among the rows, each other row's gain over it per family (the
difference, and the share of random init's errors made good: "+0.3 over random init" cannot hold
where random init scores over 0.7); per object motion; for the object set's turns, how many have a
turn as nearest clip and how many their own, beside what features blind to a turn's direction get;
and for composed which part (the pan, the object's translation) the nearest clip gets right and how
fast the pans and objects of its hits and misses are.

    .venv/bin/python -m benchmarks.motion_families [--weights random motion_curriculum] [--eval_flow_method tvl1]
        [--scenes 2 --no-vtest] [--families composed --composed_scenes 13]

`--composed_scenes 13` scores the composed family on all 13 unseen photographs (208 clips, 13 per
pair) instead of 4 (64 clips): two runs of one recipe differ by about 5 of those 64, so recipes
that differ by less need the larger set. Families not in `--families` are neither rendered nor scored.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from itertools import islice

import cv2
import numpy as np

from benchmarks.common import argument_parser, make_missing_weights, packed_row, print_table, write_json
from core.common.process import configure_process
from core.evaluation.metrics import knn_loo_accuracy
from core.features.similarity import unit_rows
from core.features.sequences import preprocess_flow
from core.flow.computer import OpticalFlowComputer
from core.training.adaptation import clip_features, stack_preprocessed
from core.training.curriculum import render_curriculum_clip
from core.training.motion_dataset import rendered_flow
from core.training.flow_layout import camera_relative, flow_layout, strongest_regions
from core.training.motion_families import (EVAL_FAMILIES, MotionFamilySet, composed_part_scores, family_scores,
                                          family_sets, nearest_labels, preprocess_sets, scores_by_label,
                                          turn_scores)
from core.training.photographs import OPENCV_DOC_DATA, photograph_paths
from core.video.decode import iter_frames
from core.weights.flow_stream import build_flow_i3d

FLOW_SUMMARY = "flow_summary"  # a row without a network: what the flow itself holds (`flow_summary`)
WEIGHTS = (FLOW_SUMMARY, "random", "cross_modal_kinetics_xy", "motion_adapted", "motion_curriculum")
SUMMARY_GRID, SUMMARY_PERIODS = 7, 2
TILES = (2, 3)  # rows, columns of the vtest frame


def flow_summary(clips: np.ndarray) -> np.ndarray:
    """The flow itself, summed up: per preprocessed flow clip `[T, 224, 224, 2]`, the camera's motion
    (its mean flow each way per time span) and the scene's (`strongest_regions` of its camera-relative
    7x7 layout), each of unit length → `[N, 16]`."""
    camera = np.stack([flow_layout(clip, 1, SUMMARY_PERIODS) for clip in clips])
    scene = strongest_regions(np.stack([flow_layout(camera_relative(clip), SUMMARY_GRID, SUMMARY_PERIODS)
                                        for clip in clips]), SUMMARY_GRID, SUMMARY_PERIODS)
    return np.concatenate([unit_rows(camera), unit_rows(scene)], axis=1)


def featurizer(weights: str) -> Callable[[np.ndarray], np.ndarray]:
    """Preprocessed flow clips `[N, T, H, W, 2]` → their features `[N, D]`: the named weights' Features,
    or `flow_summary` for FLOW_SUMMARY."""
    return flow_summary if weights == FLOW_SUMMARY else partial(clip_features, build_flow_i3d(weights))


def reversed_inputs(clips, computer: OpticalFlowComputer) -> np.ndarray:
    """Each clip played backwards, flowed and preprocessed."""
    def flows():
        for clip in clips:
            yield rendered_flow(render_curriculum_clip(clip)[::-1], computer)
    return stack_preprocessed(flows(), len(clips))


def reversal_score(forward: np.ndarray, backward: np.ndarray, labels: np.ndarray) -> float:
    """Share of clips nearer (cosine) to their best same-label clip than to their own reversal."""
    forward, backward = unit_rows(forward), unit_rows(backward)
    similarity = forward @ forward.T
    np.fill_diagonal(similarity, -np.inf)
    same = np.where(labels[:, None] == labels[None, :], similarity, -np.inf).max(axis=1)
    return float(np.mean(same > np.sum(forward * backward, axis=1)))


def composed_speeds(composed: MotionFamilySet, predictions: np.ndarray) -> dict[str, float]:
    """Mean pan and object speeds (px/frame) of the composed clips whose predicted pair (`predictions`
    `[N]`, their 1-NN's) is theirs (`hit`) and of those whose is not (`miss`; NaN if none)."""
    hit = predictions == composed.labels
    pan = np.array([c.camera_speed for c in composed.clips])
    own = np.array([c.objects[0].speed for c in composed.clips])
    return {f"{name}_{kind}": float(speeds[chosen].mean()) if chosen.any() else float("nan")
            for name, speeds in (("pan", pan), ("object", own)) for kind, chosen in (("hit", hit), ("miss", ~hit))}


def vtest_windows(computer: OpticalFlowComputer, frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed tile windows `[N, 16, 224, 224, 2]` of vtest.avi's first `frames` (None: all 795)
    and their labels (0 left, 1 right)."""
    grey = [cv2.cvtColor(cv2.resize(f, (384, 288), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
            for f in islice(iter_frames(OPENCV_DOC_DATA / "vtest.avi"), frames)]
    flow = computer.compute_sequence(grey)
    rows, cols = TILES
    height, width = flow.shape[1] // rows, flow.shape[2] // cols
    inputs, labels = [], []
    for start in range(0, len(flow) - 15, 16):
        for r in range(rows):
            for c in range(cols):
                tile = flow[start:start + 16, r * height:(r + 1) * height, c * width:(c + 1) * width]
                moving = np.linalg.norm(tile, axis=-1) > 0.5
                if moving.mean() < 0.02:
                    continue
                mean_dx = float(tile[..., 0][moving].mean())
                if abs(mean_dx) > 0.3:
                    inputs.append(preprocess_flow(tile))
                    labels.append(int(mean_dx > 0))
    return np.stack(inputs), np.array(labels)


def gain_over(score: float, random_score: float) -> str:
    """`score` against random init's: "+0.167 (91%)", the difference and the share of random init's
    errors it makes good."""
    errors_made_good = (score - random_score) / (1 - random_score) if random_score < 1 else float("nan")
    return f"{score - random_score:+.3f} ({errors_made_good:.0%})"


def main() -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--weights", nargs="*", default=list(WEIGHTS),
                        help=f"named weights to score, and {FLOW_SUMMARY} (the row without a network; none: only "
                             "the --packed files)")
    parser.add_argument("--eval_flow_method", default="dis", help="flow method of the evaluation clips")
    parser.add_argument("--scenes", type=int, default=8, help="TEST photographs used as backgrounds")
    parser.add_argument("--composed_scenes", type=int, default=None,
                        help="TEST photographs under the composed family (default: at most 4 of --scenes)")
    parser.add_argument("--families", nargs="+", choices=EVAL_FAMILIES, default=list(EVAL_FAMILIES),
                        help="families to render and score (reversed needs object)")
    parser.add_argument("--vtest", action=argparse.BooleanOptionalAction, default=True,
                        help="score the vtest.avi windows too (default; --no-vtest saves their flow)")
    parser.add_argument("--packed", action="extend", nargs="+", default=[], type=packed_row, metavar="LABEL=PATH",
                        help="also a row for each packed weights file, e.g. one made by `python -m core weights "
                             "train-default --held_out_objects ... --output PATH`")
    args = parser.parse_args()
    make_missing_weights([weights for weights in args.weights if weights != FLOW_SUMMARY])
    start = time.perf_counter()
    computer = OpticalFlowComputer(args.eval_flow_method)
    sets = family_sets(photograph_paths("test"), scenes=args.scenes, composed_scenes=args.composed_scenes)
    sets = {name: sets[name] for name in args.families}
    inputs = preprocess_sets(sets, computer)
    backward = reversed_inputs(sets["object"].clips, computer) if "object" in sets else None
    vtest_inputs, vtest_labels = vtest_windows(computer) if args.vtest else (None, np.zeros(0))
    print(f"{', '.join(f'{len(s.clips)} {name}' for name, s in sets.items())} clips on unseen photographs "
          f"({args.eval_flow_method} flow), {len(vtest_labels)} vtest tile windows; "
          f"{time.perf_counter() - start:.0f} s to render and compute flow")
    rows, results = [], {}
    rows_to_score = [(weights, partial(featurizer, weights)) for weights in args.weights]
    rows_to_score += [(label, lambda build=build: partial(clip_features, build())) for label, build in args.packed]
    for weights, make_featurizer in rows_to_score:
        featurize = make_featurizer()
        features = {name: featurize(clips) for name, clips in inputs.items()}
        scores = dict.fromkeys((*EVAL_FAMILIES, "reversed"), float("nan")) | family_scores(sets, features)
        if "object" in sets:
            nearest_objects = nearest_labels(sets["object"], features["object"])
            scores["object_by_motion"] = scores_by_label(sets["object"], nearest_objects)
            scores["turns"] = turn_scores(sets["object"], nearest_objects)
            scores["reversed"] = reversal_score(features["object"], featurize(backward),
                                                sets["object"].labels)
        if "composed" in sets:
            nearest = nearest_labels(sets["composed"], features["composed"])
            scores["composed_parts"] = (composed_part_scores(sets["composed"], nearest)
                                        | composed_speeds(sets["composed"], nearest))
        scores["vtest_lr"] = (knn_loo_accuracy(featurize(vtest_inputs), vtest_labels, 1)
                              if args.vtest else float("nan"))
        results[weights] = scores
        rows.append([weights, *(f"{scores[k]:.3f}" for k in ("object", "camera", "composed", "reversed", "vtest_lr")),
                     f"{time.perf_counter() - start:.0f}"])
    print_table(["flow-stream weights", "object", "camera", "composed", "reversed", "vtest L/R", "elapsed s"], rows)
    majority = max(np.mean(vtest_labels), 1 - np.mean(vtest_labels)) if args.vtest else float("nan")
    print(f"chance: object {1 / 8:.3f}, camera {1 / 10:.3f}, composed {1 / 16:.3f}; vtest majority class {majority:.3f}")
    if "random" in results and len(results) > 1:
        print("\nagainst random init: score minus random init's, and the share of random init's errors made good "
              "((score - random) / (1 - random)):")
        families = [name for name in EVAL_FAMILIES if name in sets]
        print_table(["flow-stream weights", *families],
                    [[name, *(gain_over(scores[f], results["random"][f]) for f in families)]
                     for name, scores in results.items() if name != "random"])
    if "object" in sets:
        print("\nobject set, 1-NN accuracy per object motion:")
        motions = sets["object"].label_names
        print_table(["flow-stream weights", *motions], [[name, *(f"{scores['object_by_motion'][m]:.3f}" for m in motions)]
                                                         for name, scores in results.items()])
        print("\nobject set's turns: how many have a turn (either way) as 1-NN, and their own turn; features "
              "blind to a turn's direction get the mean +- sd right:")
        print_table(["flow-stream weights", "turns", "turning", "right", "direction-blind"],
                    [[name, *(scores["turns"][key] for key in ("turns", "turning", "right")),
                      f"{scores['turns']['blind_mean']:.1f} +- {scores['turns']['blind_sd']:.1f}"]
                     for name, scores in results.items()])
    if "composed" in sets:
        print("\ncomposed set, share of clips whose 1-NN has the same pan / the same object translation, "
              "and mean speeds (px/frame) of the clips whose 1-NN has their pair (hit) or not (miss):")
        parts = ("camera", "object", "pan_hit", "pan_miss", "object_hit", "object_miss")
        print_table(["flow-stream weights", "camera part", "object part", "pan, hits", "pan, misses", "object, hits",
                     "object, misses"], [[name, *(f"{scores['composed_parts'][part]:.3f}" for part in parts)]
                                         for name, scores in results.items()])
    write_json(args.json, {"results": results, "eval_flow_method": args.eval_flow_method,
                           "clips": {name: len(s.clips) for name, s in sets.items()},
                           "vtest_windows": len(vtest_labels)})


if __name__ == "__main__":
    main()
