"""`python -m core batch`: flow + features for many videos, on local processes or a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from core.cli.common import add_run_options, parse_param
from core.errors import DFEError
from core.flow.methods import FLOW_METHODS
from core.flow.store import FLOW_STORAGE
from core.common.progress import TqdmProgress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="flow + features for every video of a folder or list (local processes or Ray)",
        description="For every video of --videos (a folder, searched recursively, or a text file with "
                    "one path per line): flow and per-window features of a registry model version, in "
                    "OUT/<relative path with / as __>/, written atomically with a done record; "
                    "OUT/manifest.json lists every video with its checksum, the model and config, the "
                    "outputs' checksums, its status and the failure reason. A re-run skips finished "
                    "videos; a killed worker's video is retried; a bad video is reported and the others "
                    "go on (exit status 1).")
    parser.add_argument("--videos", required=True, metavar="DIR_OR_LIST",
                        help="a folder of videos (sub-folders too) or a text file with one video path per line")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: worker processes on this machine (default); ray: Ray actors")
    parser.add_argument("--address", default=None,
                        help="ray: an existing cluster (auto, ray://head:10001, head:6379); default: start "
                             "Ray on this machine")
    parser.add_argument("--workers", type=int, default=None,
                        help="workers (default: one per CPU; ray with GPUs: one per GPU)")
    parser.add_argument("--gpus_per_worker", type=float, default=None,
                        help="ray: GPUs per worker (default: 1 if the cluster has GPUs, else 0)")
    parser.add_argument("--max_retries", type=int, default=2,
                        help="retries of a video whose worker died (default 2)")
    parser.add_argument("--model_version", default="default",
                        help="registry version or alias (default: 'default', made by `weights prepare`)")
    parser.add_argument("--model_dir", default=None, help="registry folder (default: DFE_MODEL_DIR / config/app.yaml)")
    parser.add_argument("--config", default=None,
                        help="extractor config (default: config/dynamic_model_config.yaml)")
    flow = parser.add_argument_group("optical flow (I3D convention)")
    flow.add_argument("--method", default=None, choices=sorted(FLOW_METHODS),
                      help="flow algorithm (default: the config's flow.method)")
    flow.add_argument("--param", action="append", type=parse_param, default=[], metavar="KEY=VALUE",
                      help="a method parameter, repeatable (e.g. --param preset=fast for dis)")
    flow.add_argument("--fps", type=float, default=None,
                      help="resample videos to this frame rate first (default: the config's flow.fps)")
    flow.add_argument("--flow_storage", default="auto", choices=("auto", *FLOW_STORAGE),
                      help="what each video keeps of its flow: auto (default: npy up to 5 minutes, none "
                           "beyond: features only), none, npy, npy16 (float16), jpg or flo")
    add_run_options(parser)
    parser.set_defaults(run=run)


def _check(args: argparse.Namespace) -> None:
    if args.workers is not None and args.workers < 1:
        raise DFEError("--workers must be at least 1")
    if args.max_retries < 0:
        raise DFEError("--max_retries must be 0 or more")
    if args.engine == "local" and (args.address is not None or args.gpus_per_worker is not None):
        raise DFEError("--address and --gpus_per_worker are options of --engine ray")
    if args.gpus_per_worker is not None and args.gpus_per_worker < 0:
        raise DFEError("--gpus_per_worker must be 0 or more")


def _engine(args: argparse.Namespace):
    if args.engine == "ray":
        from core.batch.ray_engine import RayEngine
        return RayEngine(args.workers, args.address, args.gpus_per_worker, args.max_retries)
    from core.batch.local import LocalEngine
    return LocalEngine(args.workers, args.max_retries)


def _summary(report, engine, output_dir: str) -> None:
    """The table of outcomes, then one line per failed video (stderr)."""
    counts = {outcome: len(report.keys(outcome)) for outcome in ("computed", "skipped", "failed")}
    print(f"{'outcome':<9} {'videos':>6}")
    for outcome, count in counts.items():
        print(f"{outcome:<9} {count:>6}")
    for key in report.keys("failed"):
        print(f"failed: {key}: {report.entries[key]['reason']}", file=sys.stderr)
    print(f"batch: {counts['computed'] + counts['skipped']} done ({counts['computed']} computed, "
          f"{counts['skipped']} skipped), {counts['failed']} failed -> {output_dir} "
          f"(manifest {report.manifest.name}; engine {engine.describe()})")


def run(args: argparse.Namespace) -> int:
    from core.batch.run import batch_spec, run_batch
    from core.batch.inputs import find_batch_inputs
    from core.features.config import DEFAULT_MODEL_CONFIG, load_config
    from core.app.settings import load_settings

    _check(args)
    config = load_config(args.config or DEFAULT_MODEL_CONFIG)
    config = replace(config, flow=replace(config.flow, method=args.method or config.flow.method,
                                          fps=args.fps if args.fps is not None else config.flow.fps))
    items = find_batch_inputs(args.videos, exclude=args.output_dir)
    spec = batch_spec(args.output_dir, args.model_dir or load_settings().model_dir, args.model_version, config,
                      dict(args.param), args.overwrite, args.flow_storage)
    engine = _engine(args)
    print(f"batch: {len(items)} videos, model {spec.model_name} {spec.model_version}, flow {config.flow.method}")
    with TqdmProgress("videos", "video", enabled=not args.quiet) as progress:
        report = run_batch(spec, items, engine, progress, inputs=str(args.videos))
    _summary(report, engine, args.output_dir)
    return 1 if report.keys("failed") else 0
