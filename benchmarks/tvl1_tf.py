"""TV-L1 in TensorFlow (`tvl1_tf`, core/flow/tvl1.py) against OpenCV's DualTVL1 (`tvl1`), in one run:

  accuracy  end-point error against the ground truth of the 8 Middlebury training pairs (each method,
            and their ratio; target: tvl1_tf within 5% of OpenCV's mean), and the mean EPE between
            the two methods' flows (how far apart they are)
  speed     pairs per second on the demo clip in I3D's convention (224x224 grey), OpenCV with one
            pair per core (OpenCV's own threads at 1, as the pipeline's entry points set them) against
            tvl1_tf in batches (TensorFlow uses every core itself); the first, compiling call untimed

The faster of the two on this machine's CPU should be the CPU default for `tvl1`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import argument_parser, median_seconds, print_table, timed, verdict, write_json
from benchmarks.middlebury_epe import DEFAULT_DATA, load_pairs
from core.common.process import available_cpus, configure_process
from core.flow.accuracy import end_point_error
from core.flow.computer import OpticalFlowComputer
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames
from core.video.synthetic import make_demo_video


def accuracy(data: Path) -> list[dict]:
    """One row per Middlebury pair; each row has the seconds tvl1_tf took on it (the first's include
    tracing its graph, which happens once per process)."""
    opencv, tensorflow = OpticalFlowComputer("tvl1", workers=1), OpticalFlowComputer("tvl1_tf")
    rows = []
    for name, first, second, truth in load_pairs(data):
        ours, seconds = timed(lambda: tensorflow.compute(first, second))
        theirs = opencv.compute(first, second)
        rows.append({"pair": name, "opencv_epe": end_point_error(theirs, truth),
                     "tvl1_tf_epe": end_point_error(ours, truth), "tvl1_tf_s": seconds,
                     "between": float(np.linalg.norm(ours - theirs, axis=-1).mean())})
    return rows


def speed(pairs: int, repeats: int, batch_size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        video = make_demo_video(Path(tmp) / "demo.mp4", num_frames=pairs + 1)
        frames = [np.ascontiguousarray(f) for f in iter_frames(video, transform=I3D_FLOW_TRANSFORM)]
    opencv = OpticalFlowComputer("tvl1", workers=available_cpus())
    tensorflow = OpticalFlowComputer("tvl1_tf", batch_size=batch_size)
    seconds = median_seconds({"tvl1 (OpenCV)": lambda: opencv.compute_sequence(frames),
                              f"tvl1_tf (batch {batch_size})": lambda: tensorflow.compute_sequence(frames)}, repeats)
    return {name: pairs / elapsed for name, elapsed in seconds.items()}


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Middlebury folder")
    parser.add_argument("--pairs", type=int, default=16, help="demo pairs timed (default 16)")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds (default 2)")
    parser.add_argument("--batch_size", type=int, default=8, help="tvl1_tf pairs per call (default 8)")
    args = parser.parse_args(argv)
    rows = accuracy(args.data)
    print_table(["Middlebury pair", "EPE OpenCV", "EPE tvl1_tf", "ratio", "EPE between", "tvl1_tf s"],
                [[r["pair"], f"{r['opencv_epe']:.3f}", f"{r['tvl1_tf_epe']:.3f}",
                  f"{r['tvl1_tf_epe'] / r['opencv_epe']:.3f}", f"{r['between']:.3f}", f"{r['tvl1_tf_s']:.2f}"]
                 for r in rows])
    print(f"tvl1_tf's first call (the graph traced once for the process): {rows[0]['tvl1_tf_s']:.1f} s")
    means = {key: float(np.mean([r[key] for r in rows])) for key in ("opencv_epe", "tvl1_tf_epe", "between")}
    ratio = means["tvl1_tf_epe"] / means["opencv_epe"]
    print(f"mean EPE: OpenCV {means['opencv_epe']:.3f}, tvl1_tf {means['tvl1_tf_epe']:.3f} (ratio {ratio:.3f}; "
          f"within 5%: {verdict(ratio <= 1.05)}); mean EPE between them {means['between']:.3f} px\n")
    rates = speed(args.pairs, args.repeats, args.batch_size)
    print_table(["224x224 pairs, " + f"{available_cpus()} CPUs", "pairs/s"], [[k, f"{v:.2f}"] for k, v in rates.items()])
    names = list(rates)
    print(f"\ntvl1_tf / OpenCV = {rates[names[1]] / rates[names[0]]:.2f}x: the CPU default stays "
          f"{'OpenCV' if rates[names[0]] >= rates[names[1]] else 'tvl1_tf'}")
    write_json(args.json, {"middlebury": rows, "means": means, "pairs_per_s": rates, "cpus": available_cpus()})


if __name__ == "__main__":
    main()
