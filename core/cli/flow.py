"""`python -m core flow`: optical flow for every video in a folder."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import add_flow_options, add_run_options, flow_job
from core.errors import DFEError
from core.flow.pipeline import compute_video_flow, find_videos, output_names
from core.flow.store import FLOW_FORMATS
from core.common.progress import TqdmProgress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "flow", help="optical flow for every video in a folder",
        description="Compute optical flow for every video in --input_dir. Each video gives "
                    "<name>.npy ([T, H, W, 2] float32, pixels; or JPEG pairs / .flo files) and "
                    "<name>.json (fps, frame count, method, parameters). Videos whose output is "
                    "already whole with the same settings are skipped; a bad video is reported "
                    "and the others go on.")
    parser.add_argument("--input_dir", required=True, help="folder of videos (mp4, avi, mov, mkv, webm)")
    parser.add_argument("--output_dir", default="data/optical_flow", help="where flow is written")
    parser.add_argument("--format", choices=FLOW_FORMATS, default="npy",
                        help="npy (default), jpg (quantised x/y pairs, MMAction2) or flo (Middlebury)")
    add_run_options(parser)
    add_flow_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    job = flow_job(args, args.format)
    computer = job.computer()
    videos = find_videos(args.input_dir)
    if not videos:
        print(f"error: no videos found in {args.input_dir}", file=sys.stderr)
        return 2
    failures = skipped = 0
    names = output_names(videos)
    for video in videos:
        with TqdmProgress(video.name, unit="pair", enabled=not args.quiet) as progress:
            try:
                result = compute_video_flow(video, args.output_dir, job, progress, args.overwrite, computer,
                                            names[video])
                skipped += result.skipped
            except DFEError as error:
                failures += 1
                print(f"failed: {video.name}: {error}", file=sys.stderr)
    computed = len(videos) - failures - skipped
    print(f"flow: {computed} computed, {skipped} already done, {failures} failed -> {args.output_dir}")
    return 1 if failures else 0
