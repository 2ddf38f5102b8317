"""Flow speed per method on the demo clip in I3D's convention: pipeline vs raw OpenCV, 2 cores vs 1.

The demo clip (320x240) is written to a temporary folder and decoded once, in I3D's convention
(grey, short side 256, centre crop 224), into memory. Every configuration then computes the flow of
the same consecutive pairs of `[224, 224] uint8` frames and gives `[T-1, 224, 224, 2] float32`:

  raw     a plain OpenCV loop (one OpenCV object reused, OpenCV's default threading), stacked
  w1      OpticalFlowComputer(method, workers=1).compute_sequence(frames), default threading
  1 core  w1 with cv2.setNumThreads(1): the flow on one core, the baseline for the speedup
  w2      OpticalFlowComputer(method, workers=2).compute_sequence(frames) with cv2.setNumThreads(1),
          as the project's entry points set it (`core.common.process.configure_process`)

Figures are pairs per second, each the median of the repeats after an untimed warm-up round; raw
and w1 take turns within a round, and so do 1 core and w2. Targets: the pipeline's overhead (w1
vs raw) under 10%; TV-L1 on both cores (w2) at least 1.7x its one-core baseline. End-to-end
`compute_video(path, i3d=True)` for DIS (decode and flow) is timed for information.
"""

from __future__ import annotations

import argparse
import tempfile
from functools import partial
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from benchmarks.common import (VARIANTS, Variant, argument_parser, elsewhere_pct, median_seconds,
                               print_table, verdict, write_json)
from core.common.process import available_cpus
from core.flow.computer import OpticalFlowComputer
from core.flow.methods import PairFunction
from core.video.synthetic import make_demo_video
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames

SLOW_METHODS = ("tvl1", "deepflow", "rlof")
OVERHEAD_TARGET_PCT = 10.0
TVL1_SPEEDUP_TARGET = 1.7
VIDEO_SIZE = (320, 240)


def raw_sequence(pair: PairFunction, frames: list[np.ndarray]) -> np.ndarray:
    """The raw OpenCV loop: flow of each consecutive pair, stacked, `[T-1, H, W, 2] float32`."""
    return np.stack([pair(a, b) for a, b in zip(frames, frames[1:])])


def configurations(variant: Variant) -> list[dict[str, Callable[[list[np.ndarray]], np.ndarray]]]:
    """The four timed ways of computing a frame sequence's flow, in two groups timed apart: raw and
    w1 at OpenCV's default threading, then 1 core and w2. Changing OpenCV's thread count (both of the
    second group do) makes the next default-threaded run faster or slower, so the overhead is taken
    from runs that never change it."""
    raw = variant.raw()
    one_worker, two_workers = variant.computer(workers=1), variant.computer(workers=2)

    def single_threaded_opencv(compute: Callable[[list[np.ndarray]], np.ndarray]):
        return lambda frames: opencv_threads(1, lambda: compute(frames))

    return [{"raw": lambda frames: raw_sequence(raw, frames), "w1": one_worker.compute_sequence},
            {"one_core": single_threaded_opencv(one_worker.compute_sequence),
             "w2": single_threaded_opencv(two_workers.compute_sequence)}]


def opencv_threads(count: int, work: Callable[[], np.ndarray]) -> np.ndarray:
    """`work()` with OpenCV on `count` threads, then OpenCV's previous count again (this script runs
    one thing at a time, so nothing else sees the change)."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        return work()
    finally:
        cv2.setNumThreads(previous)


def workload(variant: Variant, frames: list[np.ndarray], args: argparse.Namespace
             ) -> tuple[list[np.ndarray], int]:
    """The frames and the repeats for `variant`: fewer pairs for the slow methods, fewer repeats for
    TV-L1, as the options say."""
    count = args.tvl1_pairs + 1 if variant.method in SLOW_METHODS else args.frames
    return frames[:count], args.tvl1_repeats if variant.method == "tvl1" else args.repeats


def measure(variant: Variant, frames: list[np.ndarray], repeats: int) -> dict:
    """Pairs per second of each configuration over `frames`, plus the overhead and the speedup."""
    seconds = {}
    for group in configurations(variant):
        seconds |= median_seconds({name: partial(run, frames) for name, run in group.items()}, repeats)
    pairs = len(frames) - 1
    rates = {name: pairs / elapsed for name, elapsed in seconds.items()}
    return {"method": variant.label, "pairs": pairs, "repeats": repeats, "pairs_per_s": rates,
            "overhead_pct": 100 * (rates["raw"] / rates["w1"] - 1),
            "speedup_w2_vs_one_core": rates["w2"] / rates["one_core"]}


def measure_end_to_end(video: Path, pairs: int, repeats: int) -> list[dict]:
    """Pairs per second of decoding alone and of `compute_video(video, i3d=True)` with DIS medium."""
    computer = OpticalFlowComputer("dis")
    runs = {"decode only: iter_frames, I3D transform":
            lambda: list(iter_frames(video, transform=I3D_FLOW_TRANSFORM)),
            f"decode + flow: compute_video(i3d=True), workers={computer.workers}":
            lambda: opencv_threads(1, lambda: computer.compute_video(video, i3d=True))}
    return [{"stage": stage, "pairs": pairs, "pairs_per_s": pairs / elapsed}
            for stage, elapsed in median_seconds(runs, repeats).items()]


def report(results: dict) -> None:
    """Print the tables and the two target checks."""
    video = results["video"]
    print(f"Demo clip {video['size'][0]}x{video['size'][1]}, {video['frames']} frames -> "
          f"224x224 grey; {results['cpus']} CPUs, OpenCV default threads "
          f"{results['opencv_default_threads']}. Pairs per second (median of repeats).\n"
          f"CPU time used elsewhere on the machine during the run: {results['cpu_elsewhere_pct']:.1f}% "
          f"(timings are unreliable unless this is near 0).\n")
    rows = []
    for row in results["methods"]:
        rate = {name: f"{value:.1f}" for name, value in row["pairs_per_s"].items()}
        rows.append([row["method"], row["pairs"], row["repeats"], rate["raw"], rate["w1"],
                     f"{row['overhead_pct']:+.1f}", rate["one_core"], rate["w2"],
                     f"{row['speedup_w2_vs_one_core']:.2f}x"])
    print_table(["method", "pairs", "reps", "raw", "w1", "overhead %", "1 core", "w2", "w2 / 1 core"],
                rows)
    worst = max(results["methods"], key=lambda row: row["overhead_pct"])
    print(f"\nPipeline overhead (w1 vs raw), worst: {worst['overhead_pct']:+.1f}% ({worst['method']}); "
          f"target < {OVERHEAD_TARGET_PCT:.0f}%: {verdict(worst['overhead_pct'] < OVERHEAD_TARGET_PCT)}")
    tvl1 = next((row for row in results["methods"] if row["method"] == "tvl1"), None)
    if tvl1 is not None:
        ratio = tvl1["speedup_w2_vs_one_core"]
        print(f"TV-L1 both cores vs one: workers=2 {tvl1['pairs_per_s']['w2']:.2f} pairs/s vs "
              f"workers=1 + cv2.setNumThreads(1) {tvl1['pairs_per_s']['one_core']:.2f} pairs/s = "
              f"{ratio:.2f}x; target >= {TVL1_SPEEDUP_TARGET}x: {verdict(ratio >= TVL1_SPEEDUP_TARGET)}")
    print("\nEnd to end, DIS medium (for information):\n")
    print_table(["stage", "pairs", "pairs/s"], [[row["stage"], row["pairs"], f"{row['pairs_per_s']:.1f}"]
                                                for row in results["end_to_end"]])


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(__doc__, methods=True)
    parser.add_argument("--frames", type=int, default=40,
                        help="frames of the demo clip; the fast methods use all of them (default 40)")
    parser.add_argument("--tvl1_pairs", type=int, default=12,
                        help=f"pairs for the slow methods, {', '.join(SLOW_METHODS)} (default 12)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration (default 3)")
    parser.add_argument("--tvl1_repeats", type=int, default=1, help="timed runs for TV-L1 (default 1)")
    args = parser.parse_args(argv)
    num_frames = max(args.frames, args.tvl1_pairs + 1)
    with tempfile.TemporaryDirectory() as tmp:
        video = make_demo_video(Path(tmp) / "demo.mp4", num_frames=num_frames, size=VIDEO_SIZE)
        frames = [np.ascontiguousarray(frame)  # the centre crop is a view; OpenCV wants whole rows
                  for frame in iter_frames(video, transform=I3D_FLOW_TRANSFORM)]
        (methods, end_to_end), busy_elsewhere = elsewhere_pct(lambda: (
            [measure(VARIANTS[label], *workload(VARIANTS[label], frames, args)) for label in args.methods],
            measure_end_to_end(video, len(frames) - 1, args.repeats)))
    results = {"video": {"size": VIDEO_SIZE, "frames": num_frames}, "cpus": available_cpus(),
               "opencv_default_threads": cv2.getNumThreads(), "cpu_elsewhere_pct": busy_elsewhere,
               "methods": methods, "end_to_end": end_to_end}
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
