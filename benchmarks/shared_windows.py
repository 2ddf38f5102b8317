"""Shared windows against exact ones: how much faster, and how close are the features?

On a real video (default: the first 10 s of `Megamind.avi` from Debian's `opencv-doc`; else
`--video PATH`), DIS flow (I3D convention) is computed once; then for each stride the I3D stage
(`extract_flow`, preprocessing + forward) runs with `model.window_mode` exact (each 16-frame window
through I3D alone) and shared (windows pooled from one pass over 128-frame chunks), with each of
`--weights` (default: the default flow-stream weights). Reported per weights and stride: seconds
(median of the repeats after a warm-up), exact / shared, and the cosine between each window's shared
and exact features (mean, 5th percentile, min).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import argument_parser, median_seconds, parse_with_video, print_table, write_json
from benchmarks.pipeline_speed import DEFAULT_VIDEO, clip_of
from core.common.process import available_cpus, configure_process
from core.features.config import ExtractorConfig, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.features.similarity import unit_rows
from core.flow.computer import OpticalFlowComputer
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames, probe_video


def extractor(weights: str, stride: int, mode: str, batch_size: int) -> DynamicFeatureExtractor:
    model = ModelSection(weights=weights, stride=stride, window_mode=mode)
    return DynamicFeatureExtractor(config=ExtractorConfig(model=model, inference=InferenceSection(batch_size=batch_size)))


def measure(video: Path, weights_list: list[str], strides: list[int], repeats: int, batch_size: int) -> dict:
    info = probe_video(video)
    flow = OpticalFlowComputer("dis").compute_sequence(list(iter_frames(video, transform=I3D_FLOW_TRANSFORM)))
    rows = []
    for weights, stride in ((weights, stride) for weights in weights_list for stride in strides):
        exact, shared = extractor(weights, stride, "exact", batch_size), extractor(weights, stride, "shared", batch_size)
        seconds = median_seconds({"exact": lambda: exact.extract_flow(flow, info.fps),
                                  "shared": lambda: shared.extract_flow(flow, info.fps)}, repeats)
        cosine = np.sum(unit_rows(exact.extract_flow(flow, info.fps).features)
                        * unit_rows(shared.extract_flow(flow, info.fps).features), axis=1)
        rows.append({"weights": weights, "stride": stride, "windows": len(cosine), "seconds": seconds, "precision": exact.precision,
                     "cosine_mean": float(cosine.mean()), "cosine_p5": float(np.percentile(cosine, 5)),
                     "cosine_min": float(cosine.min())})
    return {"video": {"path": str(video), "fps": info.fps, "frames": info.frame_count,
                      "duration_s": info.duration_s}, "flow_frames": len(flow), "cpus": available_cpus(),
            "batch_size": batch_size, "rows": rows}


def report(results: dict) -> None:
    video = results["video"]
    print(f"{Path(video['path']).name}: {video['duration_s']:.1f} s, {results['flow_frames']} DIS flow frames; "
          f"{results['rows'][0]['precision']}, batch {results['batch_size']}; "
          f"{results['cpus']} CPUs\n")
    print_table(["weights", "stride", "windows", "exact s", "shared s", "exact / shared", "cosine mean", "cosine p5",
                 "cosine min"],
                [[row["weights"], str(row["stride"]), str(row["windows"]), f"{row['seconds']['exact']:.2f}",
                  f"{row['seconds']['shared']:.2f}", f"{row['seconds']['exact'] / row['seconds']['shared']:.2f}x",
                  f"{row['cosine_mean']:.3f}", f"{row['cosine_p5']:.3f}", f"{row['cosine_min']:.3f}"]
                 for row in results["rows"]])


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="use the first N seconds (default 10)")
    parser.add_argument("--weights", nargs="+", default=[ModelSection().weights],
                        help=f"flow-stream weights (default {ModelSection().weights})")
    parser.add_argument("--strides", type=int, nargs="+", default=[8, 4, 2], help="strides (default 8 4 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--batch_size", type=int, default=4, help="windows per exact forward (default 4)")
    args = parse_with_video(parser, argv, DEFAULT_VIDEO)
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(clip_of(args.video, args.seconds, Path(tmp)), args.weights, args.strides, args.repeats,
                          args.batch_size)
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
