"""Peak memory of computing and storing flow: a short demo clip vs one ten times longer.

`compute_video_flow(video, out, FlowJob(method="dis", i3d=True))` streams the flow to a `.npy` on
disk pair by pair, so its peak memory should not grow with the video's length. Each figure is the
peak resident set size of a fresh Python process, read when it is done:

  baseline  import the pipeline, probe the video and decode its first frame (I3D convention)
  peak      the same imports, then compute_video_flow on the whole video: `[T-1, 224, 224, 2]
            float32` to a .npy

"flow cost" is peak minus baseline: what the flow itself adds. Target: the long video's peak
within 20% of the short one's (ratio <= 1.2). The peak is Linux's `VmHWM` (/proc/self/status), not
`getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries ru_maxrss over `exec` from the parent, so a child
of this benchmark would report the benchmark's own peak after it wrote the long video.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import argument_parser, print_table, verdict, write_json
from core.common.process import configure_process
from core.flow.pipeline import FlowJob, compute_video_flow
from core.video.synthetic import make_demo_video
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames, probe_video

ROOT = Path(__file__).resolve().parent.parent
VIDEO_SIZE = (320, 240)
RATIO_TARGET = 1.2
MIB = 1024 * 1024


def run_child(mode: str, video: Path, output_dir: Path) -> None:
    """In the child process: do `mode`'s work, then print the peak RSS in bytes as JSON."""
    if mode == "baseline":
        probe_video(video)
        next(iter_frames(video, transform=I3D_FLOW_TRANSFORM))
    else:
        compute_video_flow(video, output_dir, FlowJob(method="dis", i3d=True))
    print(json.dumps({"max_rss_bytes": own_peak_rss()}))


def own_peak_rss() -> int:
    """This process's peak resident set size in bytes since its `exec` (Linux `VmHWM`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark needs Linux")


def peak_rss(mode: str, video: Path, output_dir: Path) -> int:
    """Peak RSS in bytes of a fresh process doing `mode` ("baseline" or "flow") on `video`."""
    command = [sys.executable, "-m", "benchmarks.flow_memory", "--child", mode, str(video), str(output_dir)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the {mode} measurement of {video.name} failed:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])["max_rss_bytes"]


def measure(video: Path, frames: int, output_dir: Path) -> dict:
    """Baseline and peak RSS for one video, and the size of the flow file it wrote."""
    baseline = peak_rss("baseline", video, output_dir)
    peak = peak_rss("flow", video, output_dir)
    flow_file = output_dir / f"{video.stem}.npy"
    return {"video": video.name, "frames": frames, "baseline_bytes": baseline, "peak_bytes": peak,
            "flow_cost_bytes": peak - baseline, "npy_bytes": flow_file.stat().st_size}


def report(results: dict) -> None:
    """Print the table and the target check."""
    print(f"Demo clips {VIDEO_SIZE[0]}x{VIDEO_SIZE[1]}, DIS medium, I3D convention (224x224), "
          f"streamed to .npy; peak RSS of a fresh process, MiB.\n")
    print_table(["video", "frames", "baseline", "peak", "flow cost", ".npy size"],
                [[row["video"], row["frames"], *(f"{row[key] / MIB:.1f}" for key in
                  ("baseline_bytes", "peak_bytes", "flow_cost_bytes", "npy_bytes"))]
                 for row in results["videos"]])
    ratio = results["peak_ratio_long_vs_short"]
    print(f"\nPeak RSS long / short: {ratio:.3f}; target <= {RATIO_TARGET} (within 20%): "
          f"{verdict(ratio <= RATIO_TARGET)}")


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--frames", type=int, default=50, help="frames of the short clip (default 50)")
    parser.add_argument("--factor", type=int, default=10,
                        help="the long clip has this many times more frames (default 10)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "VIDEO", "OUTPUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, video, output_dir = args.child
        run_child(mode, Path(video), Path(output_dir))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = []
        for name, frames in (("short", args.frames), ("long", args.frames * args.factor)):
            video = make_demo_video(tmp / f"{name}.mp4", num_frames=frames, size=VIDEO_SIZE)
            videos.append(measure(video, frames, tmp / "flow"))
    short, long = videos
    results = {"videos": videos, "peak_ratio_long_vs_short": long["peak_bytes"] / short["peak_bytes"]}
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
