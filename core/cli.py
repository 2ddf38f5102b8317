"""The command line: `python -m core <command> [options]`.

Each command lives in `core.commands.<name>` and provides `add_parser(subparsers)` and
`run(args) -> int`. Bad input ends the command with exit status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core.errors import DFEError

COMMAND_MODULES = ("flow", "sequences", "extractor", "dataset", "weights", "models", "batch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Dynamic feature extractor for video (optical flow + I3D).")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for name in COMMAND_MODULES:
        importlib.import_module(f"core.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DFEError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished outputs are kept, unfinished ones were discarded", file=sys.stderr)
        return 130
