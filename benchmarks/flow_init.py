"""Which flow-stream initialisation gives the best motion features? A camera-motion benchmark.

Clips: the 10 camera motions of `core.training.motion_dataset` on generated scenes, flow by the real pipeline
(DIS). Adaptation (AdaBN, upper-block training) uses the TRAIN scenes; the score uses EVAL scenes
never trained on, with fresh speeds: leave-one-out k-NN accuracy (cosine) of the 1024-d Features
among the EVAL clips. The first row is the shipped default (`motion_curriculum`) as it is, then any
`--packed` weights as they are; the last row is the recipe set-up uses for `motion_adapted`.

    .venv/bin/python -m benchmarks.flow_init [--train_scenes 12] [--eval_scenes 8]
    .venv/bin/python -m benchmarks.flow_init --packed candidate=x.npz --sources --adapted   # only those two rows
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import argument_parser, packed_row, print_table, write_json
from core.common.process import configure_process
from core.flow.computer import OpticalFlowComputer
from core.training.adaptation import adabn_on_clips
from core.training.motion_adapted import adapt_to_motion, motion_knn_scores, motion_splits, preprocessed_clips
from core.weights.flow_stream import build_flow_i3d

SOURCES = ("random", "cross_modal_kinetics", "cross_modal_kinetics_xy")
ADAPTED = ("random", "cross_modal_kinetics_xy")


def main() -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--train_scenes", type=int, default=12)
    parser.add_argument("--eval_scenes", type=int, default=8)
    parser.add_argument("--eval_flow_method", default="dis",
                        help="flow method for the EVAL clips (training always uses DIS, as set-up does); "
                             "tvl1 checks that the features transfer to the I3D standard flow")
    parser.add_argument("--packed", action="append", default=[], type=packed_row, metavar="LABEL=PATH",
                        help="also a row for a packed weights file, as it is (repeatable)")
    parser.add_argument("--sources", nargs="*", default=list(SOURCES),
                        help="initialisations scored as they are and after AdaBN (none: no such rows)")
    parser.add_argument("--adapted", nargs="*", default=list(ADAPTED),
                        help="initialisations adapted by the motion_adapted recipe (none: no such rows)")
    args = parser.parse_args()

    start = time.perf_counter()
    computer = OpticalFlowComputer("dis")
    train_clips, eval_clips = motion_splits(args.train_scenes, args.eval_scenes)
    train = preprocessed_clips(train_clips, computer)
    evaluation = preprocessed_clips(eval_clips, OpticalFlowComputer(args.eval_flow_method))
    train_labels = np.array([c.label for c in train_clips])
    eval_labels = np.array([c.label for c in eval_clips])
    print(f"{len(train)} train clips ({args.train_scenes} scenes), {len(evaluation)} eval clips "
          f"({args.eval_scenes} unseen scenes, {args.eval_flow_method} flow), {len(set(eval_labels))} motions; "
          f"{time.perf_counter() - start:.0f} s to render and compute flow")
    rows, results = [], {}

    def score(name: str, model) -> None:
        results[name] = motion_knn_scores(model, evaluation, eval_labels)
        rows.append([name, f"{results[name][1]:.3f}", f"{results[name][5]:.3f}",
                     f"{time.perf_counter() - start:.0f}"])

    score("motion_curriculum (the shipped default, not adapted here)", build_flow_i3d("motion_curriculum"))
    for label, build in args.packed:
        score(label, build())
    for source in args.sources:
        model = build_flow_i3d(source)
        score(source, model)
        adabn_on_clips(model, train)
        score(f"{source} + AdaBN", model)
    for source in args.adapted:
        model = build_flow_i3d(source)
        history = adapt_to_motion(model, train, train_labels)
        score(f"{source} + AdaBN + Mixed_5b/5c trained", model)
        print(f"({source}: final train accuracy {history['accuracy'][-1]:.3f})")
    print_table(["initialisation", "1-NN acc", "5-NN acc", "elapsed s"], rows)
    write_json(args.json, {"results": results, "train_clips": len(train), "eval_clips": len(evaluation)})


if __name__ == "__main__":
    main()
