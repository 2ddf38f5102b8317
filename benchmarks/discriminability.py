"""Discriminability of flow-stream features on a held-out split of the labelled motion dataset, for
each initialisation (`motion_curriculum` is the default) and after fine-tuning
(`core.training.fine_tune`) on the training split.

The dataset is written as class folders of H.264 clips (`core.training.motion_dataset.write_motion_dataset`):
TRAIN scenes and EVAL scenes differ. Features are computed per window by the real pipeline (DIS
flow), scored with `FeatureExtractorEvaluator` on EVAL only.

    .venv/bin/python -m benchmarks.discriminability [--train_scenes 4] [--eval_scenes 3]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import argument_parser, print_table, write_json
from core.common.process import configure_process
from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.folders import extract_folder
from core.features.extractor import DynamicFeatureExtractor
from core.evaluation.metrics import FeatureExtractorEvaluator
from core.training.motion_dataset import MOTIONS, write_motion_dataset
from core.training.fine_tune import TrainingConfig, fine_tune

METRICS = ("knn1_accuracy", "knn5_accuracy", "silhouette", "fisher_ratio", "linear_probe_accuracy")


def extractor(weights: str) -> DynamicFeatureExtractor:
    return DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights=weights), inference=InferenceSection(precision="float32"),
        flow=FlowSection(method="dis")))


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
    args = parser.parse_args()
    start = time.perf_counter()
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_motion_dataset(tmp / "train", MOTIONS, range(args.train_scenes), num_frames=33, seed=1)
        write_motion_dataset(tmp / "eval", MOTIONS, range(500, 500 + args.eval_scenes), num_frames=33, seed=2)
        runs = [(w, extractor(w)) for w in ("random", "cross_modal_kinetics", "motion_adapted", "motion_curriculum")]
        for base in ("cross_modal_kinetics", "motion_adapted", "motion_curriculum"):
            tuned = extractor(base)
            fine_tune(tuned, tmp / "train", tmp / f"run_{base}", TrainingConfig(epochs=args.epochs))
            runs.append((f"{base} + fine-tuned on TRAIN", tuned))
        for name, model in runs:
            results[name] = score(model, tmp / "eval", tmp / f"features_{len(results)}")
            rows.append([name, *(f"{results[name][m]:.3f}" for m in METRICS), f"{time.perf_counter() - start:.0f}"])
    print(f"motion dataset: {len(MOTIONS)} classes; TRAIN {args.train_scenes} scenes, EVAL {args.eval_scenes} "
          "other scenes; 33-frame clips, 16-frame windows (stride 8), DIS flow")
    print_table(["flow-stream weights", "1-NN", "5-NN", "silhouette", "Fisher", "linear probe", "elapsed s"], rows)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
