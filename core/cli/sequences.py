"""`python -m core sequences`: stored flow (or a video's flow) into model-ready windows."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import UsageError
from core.cli.common import add_flow_options, add_run_options, flow_job
from core.flow.pipeline import compute_video_flow
from core.common.progress import TqdmProgress
from core.features.sequence_store import write_sequences
from core.features.sequences import OpticalFlowSequenceLoader


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sequences", help="preprocess flow into I3D-ready windows",
        description="--mode load: every stored flow sequence in --input_dir becomes "
                    "<name>_windows.npy ([N, T, 224, 224, 2] float32 in [-1, 1]) and "
                    "<name>_windows.json (each window's first/last frame and times in ms, fps). "
                    "--mode compute: flow of --video_path first (stored in OUTPUT_DIR/flow), then the same.")
    parser.add_argument("--mode", choices=("load", "compute"), required=True)
    parser.add_argument("--input_dir", help="folder of stored flow (mode load)")
    parser.add_argument("--video_path", help="a video (mode compute)")
    parser.add_argument("--output_dir", required=True, help="where the windows are written")
    parser.add_argument("--sequence_length", type=int, default=16, help="frames per window (>= 9)")
    parser.add_argument("--stride", type=int, default=None,
                        help="frames between windows (default: half the sequence length)")
    add_run_options(parser)
    add_flow_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.mode == "load":
        if not args.input_dir:
            raise UsageError("--mode load needs --input_dir (a folder of stored flow)")
        flow_dir = Path(args.input_dir)
    else:
        if not args.video_path:
            raise UsageError("--mode compute needs --video_path")
        flow_dir = Path(args.output_dir) / "flow"
        with TqdmProgress(f"flow {Path(args.video_path).name}", "pair", not args.quiet) as progress:
            compute_video_flow(args.video_path, flow_dir, flow_job(args), progress, args.overwrite)
    loader = OpticalFlowSequenceLoader(flow_dir, args.sequence_length, args.stride)
    names = [Path(args.video_path).stem] if args.mode == "compute" else loader.list_flow_files()
    if not names:
        raise UsageError(f"no stored flow in {flow_dir}; run `python -m core flow` first")
    for name in names:
        with TqdmProgress(f"windows {name}", "window", not args.quiet) as progress:
            output = write_sequences(loader, name, args.output_dir, progress, args.overwrite)
        state = "already done" if output.skipped else "written"
        print(f"{name}: {output.num_windows} windows {state} -> {output.array_path}")
    return 0
