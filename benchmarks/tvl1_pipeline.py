"""The TV-L1 pipeline, video to features: OpenCV's TV-L1 against TV-L1 started from DIS's flow.

On a real video (default: the first 10 s of opencv-doc's `Megamind.avi`; else `--video PATH`),
`extract_video` end to end (decode, flow on every core, I3D; nothing stored) with each flow method,
one after the other in one run, the default model's architecture (random weights: speed does not
depend on the values), windows of 16 frames every 8:

  tvl1       OpenCV's DualTVL1 from a coarse-to-fine pyramid (5 scales, 5 warps)
  tvl1_dis   the same DualTVL1 started from DIS's flow (1 scale, 1 warp)
  dis        DIS alone, for reference

and, untimed, how far each method's flow is from `tvl1`'s on the first `--pairs` pairs (mean
end-point distance, pixels). Target (issue "from video to features at the machine's speed"): a
TV-L1 pipeline >= 3x faster than OpenCV's TV-L1 pipeline on 2 cores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import elsewhere_pct, parse_with_video, print_table, timed, verdict, write_json
from benchmarks.pipeline_speed import DEFAULT_VIDEO, clip_parser, extractor, on_clip, video_line, video_record
from core.common.process import available_cpus, configure_process
from core.flow.computer import OpticalFlowComputer
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames, probe_video

METHODS = ("tvl1", "tvl1_dis", "dis")


def flow_distances(video: Path, pairs: int) -> dict[str, float]:
    """Mean distance (pixels) of each method's flow from `tvl1`'s over the first `pairs` pairs."""
    frames = [frame for _, frame in zip(range(pairs + 1), iter_frames(video, transform=I3D_FLOW_TRANSFORM))]
    flows = {method: OpticalFlowComputer(method).compute_sequence(frames) for method in METHODS}
    return {method: float(np.linalg.norm(flow - flows["tvl1"], axis=-1).mean()) for method, flow in flows.items()}


def measure(video: Path, batch_size: int, pairs: int) -> dict:
    info = probe_video(video)
    models = {method: extractor(batch_size, method) for method in METHODS}
    models["dis"].extract_video(video)  # warm-up: TensorFlow's first trace, OpenCV's first calls

    def run_all() -> dict[str, float]:
        return {method: timed(lambda model=model: model.extract_video(video))[1] for method, model in models.items()}

    seconds, busy = elsewhere_pct(run_all)
    return {"video": video_record(video, info),
            "cpus": available_cpus(), "cpu_elsewhere_pct": busy, "seconds": seconds,
            "distance_to_tvl1_px": flow_distances(video, pairs), "pairs_compared": pairs}


def report(results: dict) -> None:
    video, seconds = results["video"], results["seconds"]
    print(f"{video_line(video)}; extract_video end to end, {results['cpus']} CPUs (other processes "
          f"took {results['cpu_elsewhere_pct']:.0f}% of the machine meanwhile); flow distance over the first "
          f"{results['pairs_compared']} pairs\n")
    print_table(["flow", "seconds", "real time", "speed-up vs tvl1", "flow px from tvl1"],
                [[method, f"{value:.1f}", f"{video['duration_s'] / value:.2f}x", f"{seconds['tvl1'] / value:.2f}x",
                  f"{results['distance_to_tvl1_px'][method]:.3f}"] for method, value in seconds.items()])
    speedup = seconds["tvl1"] / seconds["tvl1_dis"]
    print(f"\ntvl1_dis / tvl1 pipeline speed-up {speedup:.2f}x (target >= 3: {verdict(speedup >= 3)})")


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = clip_parser(__doc__)
    parser.add_argument("--pairs", type=int, default=40, help="frame pairs compared with tvl1's flow (default 40)")
    args = parse_with_video(parser, argv, DEFAULT_VIDEO)
    results = on_clip(args, lambda clip, _: measure(clip, args.batch_size, args.pairs))
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
