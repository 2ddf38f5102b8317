"""End-point error on the eight Middlebury training pairs: the pipeline vs the raw OpenCV calls.

For every method, each pair (grey `[H, W] uint8` frames at native size) is computed through the
pipeline, `OpticalFlowComputer(method, workers=1, **params).compute(a, b)`, and through the raw
OpenCV calls its defaults stand for. Reported per method: the mean end-point error of each over the
pairs (ground-truth pixels marked unknown are left out), whether the two flows are identical, the
largest absolute difference between them (pixels), and the median pipeline time per pair (ms).
The reference errors are those measured with the raw calls (shared/data/README.md). TV-L1 takes
seconds a pair at this size, so a full run takes a minute or two.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from benchmarks.common import VARIANTS, Variant, argument_parser, print_table, timed, write_json
from core.common.process import configure_process
from core.flow.accuracy import end_point_error, load_middlebury_pairs

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "middlebury"
REFERENCE_EPE = {"farneback": 1.08, "dis fast": 0.75, "dis medium": 0.60, "tvl1": 0.92,
                 "deepflow": 0.30, "rlof": 0.39}


def load_pairs(root: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """The Middlebury pairs under `root` (see `core.flow.accuracy`); exits if there are none."""
    pairs = load_middlebury_pairs(root)
    if not pairs:
        raise SystemExit(f"no Middlebury pairs (*/flow10.flo) in {root}; pass --data DIR")
    return pairs


def evaluate(variant: Variant, pairs: list) -> dict:
    """Mean EPE through the pipeline and the raw calls, their largest difference, and ms per pair."""
    computer, raw = variant.computer(workers=1), variant.raw()
    pipeline_epe, raw_epe, differences, seconds = [], [], [], []
    for _, frame_a, frame_b, truth in pairs:
        ours, elapsed = timed(lambda: computer.compute(frame_a, frame_b))
        theirs = raw(frame_a, frame_b)
        pipeline_epe.append(end_point_error(ours, truth))
        raw_epe.append(end_point_error(theirs, truth))
        differences.append(float(np.abs(ours - theirs).max()))
        seconds.append(elapsed)
    return {"method": variant.label, "pairs": len(pairs), "epe_pipeline": float(np.mean(pipeline_epe)),
            "epe_raw": float(np.mean(raw_epe)), "epe_reference": REFERENCE_EPE.get(variant.label),
            "identical": max(differences) == 0, "max_abs_difference": max(differences),
            "ms_per_pair": 1000 * statistics.median(seconds)}


def report(results: dict) -> None:
    """Print the table."""
    print(f"Middlebury training pairs in {results['data']}: {', '.join(results['pairs'])}.\n"
          "Mean end-point error (pixels); pipeline time per pair, median, native size.\n")
    print_table(["method", "EPE pipeline", "EPE raw", "EPE reference", "identical", "max |diff|", "ms/pair"],
                [[row["method"], f"{row['epe_pipeline']:.3f}", f"{row['epe_raw']:.3f}",
                  "-" if row["epe_reference"] is None else f"{row['epe_reference']:.2f}",
                  "yes" if row["identical"] else "no", f"{row['max_abs_difference']:.2g}",
                  f"{row['ms_per_pair']:.1f}"] for row in results["methods"]])


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = argument_parser(__doc__, methods=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder of Middlebury sequences (default {DEFAULT_DATA})")
    args = parser.parse_args(argv)
    pairs = load_pairs(args.data)
    results = {"data": str(args.data), "pairs": [name for name, *_ in pairs],
               "methods": [evaluate(VARIANTS[label], pairs) for label in args.methods]}
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
