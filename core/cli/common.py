"""Options and helpers shared by several CLI commands."""

from __future__ import annotations

import argparse

from core.errors import DFEError
from core.features.config import FlowSection
from core.flow.methods import FLOW_METHODS
from core.flow.pipeline import FlowJob
from core.flow.store import FLOW_FORMATS


class UsageError(DFEError, ValueError):
    """A command was given options that do not go together, or an input it cannot use."""


def parse_param(text: str) -> tuple[str, str]:
    """`key=value` -> (key, value); values are typed later by the flow method."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--overwrite and --quiet, for commands that skip finished work and show progress bars."""
    parser.add_argument("--overwrite", action="store_true", help="recompute even if output exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_flow_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose how flow is computed."""
    group = parser.add_argument_group("optical flow")
    group.add_argument("--method", default=FlowSection().method, choices=sorted(FLOW_METHODS),
                       help=f"flow algorithm (default: {FlowSection().method}, what the default weights are trained "
                            "on; tvl1 is the I3D standard, for DeepMind's Kinetics flow weights)")
    group.add_argument("--param", action="append", type=parse_param, default=[], metavar="KEY=VALUE",
                       help="a method parameter, repeatable (e.g. --param preset=fast for dis)")
    group.add_argument("--convention", choices=("i3d", "native"), default="i3d",
                       help="i3d: grey, short side 256, centre crop 224 (default); native: frame size")
    group.add_argument("--fps", type=float, default=None,
                       help="resample videos to this frame rate first (I3D uses 25); default: keep")
    group.add_argument("--workers", type=int, default=None,
                       help="parallel frame pairs (default: every CPU)")


def flow_job(args: argparse.Namespace, fmt: str = "npy") -> FlowJob:
    """The `FlowJob` the flow options describe."""
    if fmt not in FLOW_FORMATS:
        raise UsageError(f"unknown format {fmt!r}")
    return FlowJob(method=args.method, params=dict(args.param), i3d=args.convention == "i3d",
                   target_fps=args.fps, format=fmt, workers=args.workers)
