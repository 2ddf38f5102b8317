"""Video to features, end to end, against its stages run alone: is one pass as fast as its parts?

On a real video (default: the first 10 s of `Megamind.avi` from Debian's `opencv-doc`, if installed;
else `--video PATH`), with DIS flow (I3D convention) and the default model's architecture (random
weights: speed does not depend on the values), windows of 16 frames every 8:

  decode         iter_frames with I3D's flow transform (grey, short side 256, crop 224)
  flow           OpticalFlowComputer("dis").compute_sequence on the decoded frames
  I3D            extract_flow on the computed flow (preprocessing + forward of every window)
  two passes     compute_video_flow into a folder, load it, extract_flow: the path before one pass
  one pass       extract_video(video): decode, flow and I3D in one streaming pass, nothing stored

Seconds are the median of the repeats after an untimed warm-up round. Targets (issue "from video to
features at the machine's speed"): one pass >= 2x real time on 2 cores, and at most 1.1x the sum of
its stages run alone.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Callable

from benchmarks.common import (argument_parser, elsewhere_pct, median_seconds, parse_with_video, print_table, verdict,
                               write_json)
from core.common.process import available_cpus, configure_process
from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.flow.computer import OpticalFlowComputer
from core.flow.pipeline import FlowJob, compute_video_flow
from core.flow.store import load_flow
from core.video.decode import I3D_FLOW_TRANSFORM, VideoInfo, iter_frames, probe_video
from core.video.writer import write_video

OPENCV_VIDEOS = Path("/usr/share/doc/opencv-doc/examples/data")
DEFAULT_VIDEO = OPENCV_VIDEOS / "Megamind.avi"


def clip_of(video: Path, seconds: float, folder: Path) -> Path:
    """The first `seconds` of `video` as an H.264 file in `folder` (frames as decoded, RGB)."""
    info = probe_video(video)
    count = min(info.frame_count, round(seconds * info.fps))
    frames = (frame[..., ::-1] for _, frame in zip(range(count), iter_frames(video)))
    return write_video(folder / f"{video.stem}_{seconds:g}s.mp4", frames, info.fps)


def video_record(video: Path, info: VideoInfo) -> dict:
    """What a benchmark's JSON says of the video it ran on."""
    return {"path": str(video), "width": info.width, "height": info.height, "fps": info.fps,
            "frames": info.frame_count, "duration_s": info.duration_s}


def video_line(video: dict) -> str:
    """`video_record` in words: name, size, frame rate, duration."""
    return (f"{Path(video['path']).name}: {video['width']}x{video['height']}, {video['fps']:g} fps, "
            f"{video['duration_s']:.1f} s")


def extractor(batch_size: int, method: str = "dis") -> DynamicFeatureExtractor:
    """The default model's architecture with random weights, 16-frame windows every 8, `method` flow."""
    config = ExtractorConfig(model=ModelSection(weights="random", sequence_length=16, stride=8),
                             inference=InferenceSection(batch_size=batch_size), flow=FlowSection(method=method))
    return DynamicFeatureExtractor(config=config)


def measure(video: Path, repeats: int, batch_size: int, folder: Path) -> dict:
    model = extractor(batch_size)
    info = probe_video(video)
    frames = list(iter_frames(video, transform=I3D_FLOW_TRANSFORM))
    computer = OpticalFlowComputer("dis")
    flow = computer.compute_sequence(frames)

    def two_passes():
        flow_dir = Path(tempfile.mkdtemp(dir=folder))
        compute_video_flow(video, flow_dir, FlowJob(method="dis"))
        return model.extract_flow(load_flow(flow_dir, video.stem)[0], info.fps, video.stem)

    runs = {"decode": lambda: list(iter_frames(video, transform=I3D_FLOW_TRANSFORM)),
            "flow": lambda: computer.compute_sequence(frames),
            "I3D": lambda: model.extract_flow(flow, info.fps, video.stem),
            "two passes": two_passes,
            "one pass": lambda: model.extract_video(video)}
    seconds, busy = elsewhere_pct(lambda: median_seconds(runs, repeats))
    windows = len(model.extract_flow(flow, info.fps, video.stem).windows)
    return {"video": video_record(video, info),
            "windows": windows, "batch_size": batch_size, "precision": model.precision,
            "cpus": available_cpus(), "cpu_elsewhere_pct": busy, "seconds": seconds}


def report(results: dict) -> None:
    video, seconds = results["video"], results["seconds"]
    print(f"{video_line(video)}; {results['windows']} windows of 16 frames every 8, DIS, "
          f"{results['precision']}, batch {results['batch_size']}; {results['cpus']} CPUs "
          f"(other processes took {results['cpu_elsewhere_pct']:.0f}% of the machine meanwhile)\n")
    stages = seconds["decode"] + seconds["flow"] + seconds["I3D"]
    rows = [[name, f"{value:.2f}", f"{video['duration_s'] / value:.2f}x"] for name, value in seconds.items()]
    rows.append(["sum of the stages alone", f"{stages:.2f}", f"{video['duration_s'] / stages:.2f}x"])
    print_table(["path", "seconds", "real time"], rows)
    one_pass = seconds["one pass"]
    print(f"\none pass / sum of stages = {one_pass / stages:.2f} (target <= 1.10: "
          f"{verdict(one_pass <= 1.1 * stages)}); one pass / two passes = "
          f"{one_pass / seconds['two passes']:.2f}; real time {video['duration_s'] / one_pass:.2f}x "
          f"(target >= 2: {verdict(video['duration_s'] / one_pass >= 2)})")


def clip_parser(description: str) -> argparse.ArgumentParser:
    """The benchmark parser with `--seconds` (of `--video` to use) and `--batch_size`."""
    parser = argument_parser(description)
    parser.add_argument("--seconds", type=float, default=10.0, help="use the first N seconds (default 10)")
    parser.add_argument("--batch_size", type=int, default=4, help="windows per I3D forward (default 4)")
    return parser


def on_clip(args: argparse.Namespace, measure_clip: Callable[[Path, Path], dict]) -> dict:
    """`measure_clip(clip, folder)` on the first `args.seconds` of `args.video`, cut into a temporary
    folder that is removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        return measure_clip(clip_of(args.video, args.seconds, Path(tmp)), Path(tmp))


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = clip_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    args = parse_with_video(parser, argv, DEFAULT_VIDEO)
    results = on_clip(args, lambda clip, folder: measure(clip, args.repeats, args.batch_size, folder))
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
