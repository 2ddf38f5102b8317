"""`python -m core extractor --mode implement|test|evaluate` and `python -m core test-extractor`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.common.progress import TqdmProgress


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data_dir", required=True,
                        help="videos, stored flow (.npy + .json), or one folder per class of either")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--config", default="config/dynamic_model_config.yaml", help="extractor config")
    parser.add_argument("--version", default=None,
                        help="use this registry version or alias (e.g. default, production) instead of "
                             "building the model from the config's weights")
    parser.add_argument("--model_dir", default=None, help="registry folder (default: DFE_MODEL_DIR/config)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extractor", help="build/fine-tune and save a version, extract features, or evaluate",
        description="implement: build the extractor (config weights), fine-tune it when --data_dir has "
                    "class folders, and save a registry version; test: per-window features (with "
                    "timestamps) for every sequence; evaluate: the metrics report with plots.")
    parser.add_argument("--mode", choices=("implement", "test", "evaluate"), required=True)
    parser.add_argument("--epochs", type=int, default=12, help="fine-tuning epochs (implement)")
    _common(parser)
    parser.set_defaults(run=run)
    visual = subparsers.add_parser(
        "test-extractor", help="features and every visualisation for N samples",
        description="For the first --num_samples inputs of --data_dir: features, the layer views of "
                    "FeatureVisualization (PNG, GIF) and the per-video plots, one folder per sample.")
    visual.add_argument("--num_samples", type=int, default=5)
    visual.add_argument("--layer", default="Mixed_4f", help="endpoint or alias to visualise")
    _common(visual)
    visual.set_defaults(run=run_visual)


def _extractor(args: argparse.Namespace):
    from core.features.config import load_config
    from core.features.extractor import DynamicFeatureExtractor
    from core.registry.versions import MODEL_NAME
    from core.registry.serializer import ModelSerializer
    from core.app.settings import load_settings

    args.model_dir = args.model_dir or str(load_settings().model_dir)
    config = load_config(args.config)
    if args.version is None:
        return DynamicFeatureExtractor(config=config)
    model, _, version = ModelSerializer.load_model(args.model_dir, MODEL_NAME, args.version)
    print(f"using registry version {version}")
    return DynamicFeatureExtractor(config=config, model=model)


def _bar(args, unit: str):
    return lambda sequence: TqdmProgress(sequence.name, unit, enabled=not args.quiet)


def run(args: argparse.Namespace) -> int:
    from core.evaluation.reports import evaluate_folder
    from core.features.folders import class_folders, extract_folder, find_sequences
    from core.features.store import write_features_hdf5
    from core.training.fine_tune import TrainingConfig, fine_tune

    find_sequences(args.data_dir)  # a clear error before any model is built
    extractor = _extractor(args)
    if args.mode == "implement":
        if len(class_folders(args.data_dir)) >= 2:
            with TqdmProgress("fine-tuning", "epoch", not args.quiet) as progress:
                result = fine_tune(extractor, args.data_dir, args.output_dir, TrainingConfig(epochs=args.epochs),
                                   model_dir=args.model_dir, progress=progress)
            print(f"fine-tuned on {len(result.class_names)} classes: " +
                  ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items()))
            print(f"saved {result.version_path}")
        else:
            path = extractor.save_model_with_serializer(args.model_dir, {
                "description": "built from the config (no class folders to fine-tune on)"})
            print(f"no class folders in {args.data_dir}: saved the configured model as {path}")
        return 0
    if args.mode == "test":
        results, failed = extract_folder(extractor, args.data_dir, args.output_dir, _bar(args, "window"))
        for sequence, features in results:
            print(f"{sequence.name}: {features.features.shape[0]} windows x {features.features.shape[1]} "
                  f"features, {features.windows[0].start_ms:.0f}-{features.windows[-1].end_ms:.0f} ms")
        for sequence, message in failed:
            print(f"failed: {sequence.name}: {message}", file=sys.stderr)
        run_file = write_features_hdf5(Path(args.output_dir) / "features.h5",
                                       {sequence.name: features for sequence, features in results})
        print(f"features: {len(results)} written, {len(failed)} failed -> {args.output_dir} (all in {run_file.name})")
        return 1 if failed else 0
    report_path = evaluate_folder(extractor, args.data_dir, args.output_dir, _bar(args, "window"))
    report = json.loads(report_path.read_text())
    for key, value in report["discriminability"].items():
        print(f"{key:>22}: {value:.3f}")
    for key, value in report.get("stability", {}).items():
        print(f"{'stability ' + key:>22}: {value:.3f}")
    if report.get("instance_discrimination") is not None:
        print(f"{'instance discrimination':>22}: {report['instance_discrimination']:.3f}")
    for note in report.get("notes", []):
        print(f"note: {note}")
    print(f"report: {report_path} (+ confusion_matrix.png, projection.png)")
    return 0


def run_visual(args: argparse.Namespace) -> int:
    from core.features.folders import find_sequences
    from core.viz.samples import visualize_sample

    sequences = find_sequences(args.data_dir)[:args.num_samples]
    extractor = _extractor(args)
    for sequence in sequences:
        files = visualize_sample(extractor, sequence, Path(args.output_dir) / sequence.name, args.layer)
        print(f"{sequence.name}: {len(files)} views -> {Path(args.output_dir) / sequence.name}")
    return 0
