"""Discriminability of flow-stream features on a held-out split of the labelled motion dataset, for
each initialisation (`motion_curriculum` is the default) and after fine-tuning
(`core.training.fine_tune`) on the training split.

The dataset is written as class folders of H.264 clips (`core.training.motion_dataset.write_motion_dataset`):
TRAIN scenes and EVAL scenes differ. Features are computed per window by the real pipeline (DIS
flow), scored with `FeatureExtractorEvaluator` on EVAL only.

    .venv/bin/python -m benchmarks.discriminability [--train_scenes 4] [--eval_scenes 3]
    .venv/bin/python -m benchmarks.discriminability --weights motion_curriculum --fine_tuned motion_curriculum \
        --packed candidate=x.npz   # the default and a packed weights file, each as it is and fine-tuned
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from benchmarks.common import argument_parser, make_missing_weights, packed_row, print_table, write_json
from core.common.process import configure_process
from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.folders import extract_folder
from core.features.extractor import DynamicFeatureExtractor
from core.evaluation.metrics import FeatureExtractorEvaluator
from core.training.motion_dataset import MOTIONS, write_motion_dataset
from core.training.fine_tune import TrainingConfig, fine_tune

WEIGHTS = ("random", "cross_modal_kinetics", "motion_adapted", "motion_curriculum")
FINE_TUNED = ("cross_modal_kinetics", "motion_adapted", "motion_curriculum")
METRICS = ("knn1_accuracy", "knn5_accuracy", "silhouette", "fisher_ratio", "linear_probe_accuracy")


def extractor(weights: str, build: Callable[[], keras.Model] | None = None) -> DynamicFeatureExtractor:
    """The extractor of named `weights`, or of the model `build` makes (a `--packed` row's)."""
    return DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights=weights if build is None else "random"),
        inference=InferenceSection(precision="float32"), flow=FlowSection(method="dis")),
        model=None if build is None else build())


def score(model: DynamicFeatureExtractor, eval_dir: Path, work: Path) -> dict[str, float]:
    results, _ = extract_folder(model, eval_dir, work)
    features = np.concatenate([f.features for _, f in results])
    labels = np.concatenate([np.full(len(f.features), MOTIONS.index(s.label)) for s, f in results])
    return FeatureExtractorEvaluator(model).evaluate(features, labels, MOTIONS)["discriminability"]


def main() -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--train_scenes", type=int, default=4)
    parser.add_argument("--eval_scenes", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--weights", nargs="*", default=list(WEIGHTS), help="named weights scored as they are")
    parser.add_argument("--fine_tuned", nargs="*", default=list(FINE_TUNED),
                        help="named weights scored after fine-tuning on TRAIN")
    parser.add_argument("--packed", action="extend", nargs="+", default=[], type=packed_row, metavar="LABEL=PATH",
                        help="packed weights files, each scored as it is and fine-tuned")
    args = parser.parse_args()
    make_missing_weights(args.weights + args.fine_tuned)
    start = time.perf_counter()
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_motion_dataset(tmp / "train", MOTIONS, range(args.train_scenes), num_frames=33, seed=1)
        write_motion_dataset(tmp / "eval", MOTIONS, range(500, 500 + args.eval_scenes), num_frames=33, seed=2)
        bases = [(w, None) for w in args.weights] + args.packed
        runs = [(name, extractor(name, build)) for name, build in bases]
        for name, build in [(w, None) for w in args.fine_tuned] + args.packed:
            tuned = extractor(name, build)
            fine_tune(tuned, tmp / "train", tmp / f"run_{len(runs)}", TrainingConfig(epochs=args.epochs))
            runs.append((f"{name} + fine-tuned on TRAIN", tuned))
        for name, model in runs:
            results[name] = score(model, tmp / "eval", tmp / f"features_{len(results)}")
            cells = (f"{results[name][m]:.3f}" if m in results[name] else "n/a" for m in METRICS)
            rows.append([name, *cells, f"{time.perf_counter() - start:.0f}"])
    print(f"motion dataset: {len(MOTIONS)} classes; TRAIN {args.train_scenes} scenes, EVAL {args.eval_scenes} "
          "other scenes; 33-frame clips, 16-frame windows (stride 8), DIS flow")
    print_table(["flow-stream weights", "1-NN", "5-NN", "silhouette", "Fisher", "linear probe", "elapsed s"], rows)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
