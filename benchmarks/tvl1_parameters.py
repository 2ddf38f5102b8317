"""OpenCV's TV-L1 with less work: what each saving costs in accuracy.

For OpenCV's defaults (`tvl1`), variants that cut warps, iterations or pyramid levels, and TV-L1
started from DIS's flow (`tvl1_dis`: the pyramid replaced by DIS's estimate), on one core:
- Middlebury mean end-point error over the eight training pairs (native size) and seconds per pair;
- seconds per pair on real 224x224 frames (I3D convention; default: the first 30 consecutive frames of
  opencv-doc's `Megamind.avi`, as the pipeline computes them) and the mean distance (pixels) of the
  variant's flow from the defaults' flow there.

A variant is worth offering only where its error stays near the defaults' (the issue's bar for a
TV-L1: within 5%) or below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import argument_parser, parse_with_video, print_table, timed, write_json
from benchmarks.middlebury_epe import DEFAULT_DATA, load_pairs
from benchmarks.pipeline_speed import DEFAULT_VIDEO
from core.common.process import configure_process
from core.flow.accuracy import end_point_error
from core.flow.computer import OpticalFlowComputer
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames

# label -> (flow method, parameters)
VARIANTS = {"defaults": ("tvl1", {}), "warps 3": ("tvl1", {"warps": 3}), "warps 1": ("tvl1", {"warps": 1}),
            "outer 3": ("tvl1", {"outer_iterations": 3}), "inner 10": ("tvl1", {"inner_iterations": 10}),
            "epsilon 0.05": ("tvl1", {"epsilon": 0.05}), "nscales 3": ("tvl1", {"nscales": 3}),
            "DIS start (tvl1_dis)": ("tvl1_dis", {}), "DIS start, 2 warps": ("tvl1_dis", {"warps": 2}),
            "DIS start, 2 scales": ("tvl1_dis", {"nscales": 2}), "DIS alone (no TV-L1)": ("dis", {})}


def pair_function(method: str, params: dict):
    """`(a, b) -> [H, W, 2] float32` flow of one pair, on the calling thread."""
    return OpticalFlowComputer(method, workers=1, **params).compute


def measure(data: Path, video: Path, frames: int, step: int) -> list[dict]:
    pairs = load_pairs(data)
    grey = [frame for _, frame in zip(range(frames), iter_frames(video, transform=I3D_FLOW_TRANSFORM))][::step]
    rows, outputs = [], {}
    for label, (method, params) in VARIANTS.items():
        flow = pair_function(method, params)
        errors, seconds = [], []
        for _, a, b, truth in pairs:
            out, elapsed = timed(lambda: flow(a, b))
            errors.append(end_point_error(out, truth))
            seconds.append(elapsed)
        outputs[label], elapsed = timed(lambda: [flow(a, b) for a, b in zip(grey, grey[1:])])
        rows.append({"variant": label, "method": method, "params": params, "middlebury_epe": float(np.mean(errors)),
                     "middlebury_s_per_pair": float(np.mean(seconds)), "s_per_pair_224": elapsed / len(outputs[label])})
    for row in rows:  # distances from the defaults' flow (the first row), computed once above
        row["distance_to_defaults_px"] = float(np.mean([np.linalg.norm(out - ref, axis=-1).mean() for out, ref
                                                        in zip(outputs[row["variant"]], outputs["defaults"])]))
    return rows


def report(rows: list[dict]) -> None:
    base = rows[0]
    print("OpenCV DualTVL1 (tvl1_dis: started from DIS), one core. Middlebury: 8 training pairs, native size; 224: real frames, I3D convention.\n")
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
    parser.add_argument("--frames", type=int, default=30, help="first N frames of the video (default 30)")
    parser.add_argument("--step", type=int, default=1, help="every Nth of them (default 1: consecutive)")
    args = parse_with_video(parser, argv, DEFAULT_VIDEO)
    rows = measure(args.data, args.video, args.frames, args.step)
    report(rows)
    write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
