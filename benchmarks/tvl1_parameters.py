"""OpenCV's TV-L1 with fewer iterations: what each saving costs in accuracy.

For OpenCV's defaults and variants that cut warps, iterations or pyramid levels, on one core:
- Middlebury mean end-point error over the eight training pairs (native size) and seconds per pair;
- seconds per pair on real 224x224 frames (I3D convention; default: every 6th frame of the first
  60 of opencv-doc's `Megamind.avi`) and the mean distance (pixels) of the variant's flow from the
  defaults' flow there.

A variant is worth offering only where its error stays near the defaults' (the issue's bar for a
TV-L1: within 5%).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import argument_parser, parse_with_video, print_table, timed, write_json
from benchmarks.middlebury_epe import DEFAULT_DATA, load_pairs
from benchmarks.pipeline_speed import DEFAULT_VIDEO
from core.common.process import configure_process
from core.flow.accuracy import end_point_error
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames

VARIANTS = {"defaults": {}, "warps 3": {"warps": 3}, "warps 1": {"warps": 1}, "outer 3": {"outerIterations": 3},
            "inner 10": {"innnerIterations": 10}, "epsilon 0.05": {"epsilon": 0.05}, "nscales 3": {"nscales": 3}}


def tvl1(**params):
    """A pair function `(a, b) -> [H, W, 2] float32` of one DualTVL1 object with `params`."""
    algorithm = cv2.optflow.DualTVL1OpticalFlow_create(**params)
    return lambda a, b: algorithm.calc(a, b, None)


def measure(data: Path, video: Path, frames: int, step: int) -> list[dict]:
    pairs = load_pairs(data)
    grey = [frame for _, frame in zip(range(frames), iter_frames(video, transform=I3D_FLOW_TRANSFORM))][::step]
    reference = [tvl1()(a, b) for a, b in zip(grey, grey[1:])]
    rows = []
    for label, params in VARIANTS.items():
        flow = tvl1(**params)
        errors, seconds = [], []
        for _, a, b, truth in pairs:
            out, elapsed = timed(lambda: flow(a, b))
            errors.append(end_point_error(out, truth))
            seconds.append(elapsed)
        outputs, elapsed = timed(lambda: [flow(a, b) for a, b in zip(grey, grey[1:])])
        distance = np.mean([np.linalg.norm(out - ref, axis=-1).mean() for out, ref in zip(outputs, reference)])
        rows.append({"variant": label, "params": params, "middlebury_epe": float(np.mean(errors)),
                     "middlebury_s_per_pair": float(np.mean(seconds)), "s_per_pair_224": elapsed / len(outputs),
                     "distance_to_defaults_px": float(distance)})
    return rows


def report(rows: list[dict]) -> None:
    base = rows[0]
    print("OpenCV DualTVL1, one core. Middlebury: 8 training pairs, native size; 224: real frames, I3D convention.\n")
    print_table(["variant", "Middlebury EPE", "vs defaults", "s/pair Middlebury", "s/pair 224", "speed-up 224",
                 "px from defaults (224)"],
                [[row["variant"], f"{row['middlebury_epe']:.3f}",
                  f"{row['middlebury_epe'] / base['middlebury_epe'] - 1:+.1%}", f"{row['middlebury_s_per_pair']:.2f}",
                  f"{row['s_per_pair_224']:.2f}", f"{base['s_per_pair_224'] / row['s_per_pair_224']:.2f}x",
                  f"{row['distance_to_defaults_px']:.3f}"] for row in rows])


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"Middlebury pairs (default {DEFAULT_DATA})")
    parser.add_argument("--frames", type=int, default=60, help="first N frames of the video (default 60)")
    parser.add_argument("--step", type=int, default=6, help="every Nth of them (default 6)")
    args = parse_with_video(parser, argv, DEFAULT_VIDEO)
    rows = measure(args.data, args.video, args.frames, args.step)
    report(rows)
    write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
