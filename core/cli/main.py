"""The command line: `python -m core <command> [options]`.

Each command is a module of this package and provides `add_parser(subparsers)` and
`run(args) -> int`; they import what their work needs when they run, so `--help` stays quick. Bad input ends the command with exit status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import sys

from core.cli import batch, dataset, extractor, flow, models, sequences, users, weights
from core.common.process import configure_process
from core.errors import DFEError

COMMANDS = (flow, sequences, extractor, dataset, weights, models, batch, users)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Dynamic feature extractor for video (optical flow + I3D).")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    configure_process()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DFEError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished outputs are kept, unfinished ones were discarded", file=sys.stderr)
        return 130
