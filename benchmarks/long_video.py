"""A long video, features only: time, peak memory and disk of `python -m core batch` on one video.

The video is a real one (default: `Megamind.avi` from Debian's `opencv-doc`, 720x528, 24 fps) looped
to `--minutes` by stream copy (no re-encoding, so making it takes seconds). The batch command runs as
a user would start it, in its own process, with its default flow storage (`auto`: beyond 5 minutes
only the features are kept); the benchmark samples the resident memory of that process and all its
workers together every `--sample_s` seconds.

Reported: wall time and real-time factor, peak resident memory of the process tree, bytes on disk
under the output folder, the feature file's windows. Targets (issue "from video to features at the
machine's speed"): one hour within 2 GB of RAM and under 100 MB on disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from benchmarks.common import argument_parser, parse_with_video, print_table, verdict, write_json
from core.common.process import available_cpus, descendant_pids
from core.video.decode import probe_video

DEFAULT_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")
RAM_TARGET_BYTES = 2 * 1024 ** 3
DISK_TARGET_BYTES = 100 * 1000 ** 2


def looped_video(source: Path, minutes: float, folder: Path) -> Path:
    """`source` played over and over for `minutes`, as one file in `folder` (streams copied)."""
    target = folder / f"{source.stem}_{minutes:g}min{source.suffix}"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-stream_loop", "-1", "-i", str(source),
                    "-t", str(minutes * 60), "-c", "copy", "-an", str(target)], check=True)
    return target


def tree_rss_bytes(root: int) -> int:
    """Resident memory of process `root` and all its descendants, summed (0 for those already gone)."""
    total = 0
    for pid in [root, *descendant_pids(root)]:
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += pages * os.sysconf("SC_PAGE_SIZE")
    return total


def disk_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def run_batch(video: Path, output: Path, method: str, model_version: str, sample_s: float) -> dict:
    """Runs the batch command on `video`; returns its wall time and the peak memory of its tree."""
    listing = output.parent / "videos.txt"
    listing.write_text(f"{video}\n")
    command = [sys.executable, "-m", "core", "batch", "--videos", str(listing), "--output_dir", str(output),
               "--method", method, "--model_version", model_version, "--workers", "1", "--quiet"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(process.pid))
        time.sleep(sample_s)
    seconds = time.perf_counter() - start
    log = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"batch failed with status {process.returncode}:\n{log[-3000:]}")
    return {"seconds": seconds, "peak_rss_bytes": peak}


def feature_windows(output: Path) -> tuple[int, int]:
    """(windows, feature width) of the one feature file under `output`."""
    (path,) = [path for path in output.rglob("*.npy") if "features" in path.name]
    features = np.load(path, mmap_mode="r")
    return int(features.shape[0]), int(np.prod(features.shape[1:]))


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the looped video (default 60)")
    parser.add_argument("--method", default="dis", help="flow method (default dis)")
    parser.add_argument("--model_version", default="default", help="registry version or alias (default 'default')")
    parser.add_argument("--sample_s", type=float, default=0.5, help="memory sampling interval (default 0.5 s)")
    args = parse_with_video(parser, argv, DEFAULT_VIDEO)
    with tempfile.TemporaryDirectory() as tmp:
        video = looped_video(args.video, args.minutes, Path(tmp))
        info = probe_video(video)
        output = Path(tmp) / "out"
        run = run_batch(video, output, args.method, args.model_version, args.sample_s)
        windows, width = feature_windows(output)
        results = {"video": {"source": str(args.video), "width": info.width, "height": info.height,
                             "fps": info.fps, "frames": info.frame_count, "duration_s": info.duration_s},
                   "method": args.method, "cpus": available_cpus(), **run,
                   "disk_bytes": disk_bytes(output), "windows": windows, "feature_width": width}
    report(results)
    write_json(args.json, results)


def report(results: dict) -> None:
    video = results["video"]
    print(f"{Path(video['source']).name} looped to {video['duration_s'] / 60:.1f} min ({video['frames']} frames, "
          f"{video['width']}x{video['height']}, {video['fps']:g} fps); {results['method']} flow, features only; "
          f"{results['cpus']} CPUs\n")
    rows = [["wall time", f"{results['seconds']:.0f} s",
             f"{video['duration_s'] / results['seconds']:.2f}x real time"],
            ["peak memory (process tree)", f"{results['peak_rss_bytes'] / 1024 ** 2:.0f} MB",
             f"target <= 2048 MB: {verdict(results['peak_rss_bytes'] <= RAM_TARGET_BYTES)}"],
            ["on disk", f"{results['disk_bytes'] / 1000 ** 2:.1f} MB",
             f"target < 100 MB: {verdict(results['disk_bytes'] < DISK_TARGET_BYTES)}"],
            ["feature windows", f"{results['windows']} x {results['feature_width']}", ""]]
    print_table(["", "measured", ""], rows)


if __name__ == "__main__":
    main()
