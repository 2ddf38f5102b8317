"""Batch throughput: videos per second of `run_batch` with the local engine (1 vs 2 worker processes)
and the Ray engine (1 vs 2 actors), on the same generated demo videos, in one run.

Workers share the CPUs: 1 worker gets every core as threads (flow pairs, TensorFlow), 2 workers one
core each. On one machine the two therefore use the same cores; "local 1 x 1 thread" (one worker
on one core) is the baseline that shows how far adding worker processes scales.

N demo clips (default 8 x 64 frames, 320x240, 25 fps) are written to a temporary folder; every
configuration turns all of them into DIS flow (I3D convention) and per-window features (16-frame
windows, stride 8: 7 windows per clip) in a fresh output folder, with the registry's `default`
model (or, when the registry has none, a random-weights I3D registered in a temporary one; the
speed is the same).

  wall      the whole `run_batch` call: worker start-up (TensorFlow import, model load), the videos
  videos/s  N / wall
  steady    N / (last video finished - first video started), from the workers' clocks: the rate
            once the workers are up, which is what a long batch runs at

Ray is started once (`connect_ray(num_cpus=<CPUs>)`) before its rows, so its own start-up (~3 s) is in
no figure; its actors start within each run, like the local processes. Rounds run every
configuration in turn. Other work on the machine slows the runs down: the share of the CPUs busy
just before the first round (3 s sample) is printed; the figures are clean only near 0.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from benchmarks.common import argument_parser, machine_busy_pct, print_table, timed, write_json
from core.common.process import configure_process
from core.batch.run import batch_spec, run_batch
from core.batch.inputs import find_batch_inputs
from core.batch.local import LocalEngine
from core.batch.ray_engine import connect_ray
from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.common.process import available_cpus
from core.registry.versions import MODEL_NAME, ModelRegistry, RegistryError
from core.features.sequences import window_starts
from core.app.settings import load_settings
from core.video.synthetic import make_demo_video

CONFIG = ExtractorConfig(model=ModelSection(sequence_length=16, stride=8),
                         inference=InferenceSection(precision="float32"), flow=FlowSection(method="dis"))
# (engine, workers, threads per worker; None: CPUs // workers, the engines' default)
CONFIGURATIONS = (("local", 1, 1), ("local", 1, None), ("local", 2, None), ("ray", 1, None), ("ray", 2, None))


def model_dir(tmp: Path) -> Path:
    """The registry with a `default` version: the configured one, or a temporary one with random weights."""
    configured = load_settings().model_dir
    try:
        ModelRegistry(configured, MODEL_NAME).resolve("default")
        return configured
    except RegistryError:
        from core.features.extractor import DynamicFeatureExtractor

        path = DynamicFeatureExtractor(config=ExtractorConfig(model=ModelSection(weights="random"))
                                       ).save_model_with_serializer(tmp / "models")
        ModelRegistry(tmp / "models", MODEL_NAME).set_alias("default", Path(path).name)
        return tmp / "models"


def threads_of(workers: int, threads: int | None) -> int:
    return threads or max(1, available_cpus() // workers)


def engine(name: str, workers: int, threads: int | None):
    if name == "ray":
        from core.batch.ray_engine import RayEngine
        return RayEngine(workers=workers)
    return LocalEngine(workers=workers, threads=threads)


def measure(name: str, workers: int, threads: int | None, videos: Path, models: Path, out: Path) -> dict:
    """One run of a configuration into the fresh folder `out`."""
    spec = batch_spec(out, models, "default", CONFIG)
    report, wall = timed(lambda: run_batch(spec, find_batch_inputs(videos), engine(name, workers, threads)))
    if report.keys("failed"):
        raise SystemExit(f"{name} x{workers}: {report.entries[report.keys('failed')[0]]['reason']}")
    span = max(r.finished for r in report.results) - min(r.started for r in report.results)
    return {"wall_s": wall, "steady_span_s": span, "videos": len(report.results)}


def key(name: str, workers: int, threads: int | None) -> str:
    return f"{name}:{workers}:{threads_of(workers, threads)}"


def summarise(runs: list[dict]) -> dict:
    videos = runs[0]["videos"]
    wall = statistics.median(r["wall_s"] for r in runs)
    span = statistics.median(r["steady_span_s"] for r in runs)
    return {"wall_s": wall, "videos_per_s": videos / wall, "steady_videos_per_s": videos / span}


def report(results: dict) -> None:
    print(f"{results['videos']} demo videos x {results['frames']} frames (320x240 -> 224x224 DIS flow, "
          f"{results['windows_per_video']} windows of 16 frames each); {results['cpus']} CPUs; "
          f"CPUs busy before the runs {results['busy_before_pct']:.0f}%; median of {results['repeats']} round(s).\n")
    rows = [[*name.split(":"), f"{row['wall_s']:.1f}", f"{row['videos_per_s']:.3f}",
             f"{row['steady_videos_per_s']:.3f}"] for name, row in results["rows"].items()]
    print_table(["engine", "workers", "threads each", "wall s", "videos/s", "steady videos/s"], rows)
    print()
    cpus = results["cpus"]
    for label, base, other in (("local", f"local:1:{cpus}", f"local:2:{cpus // 2}"),
                               ("local vs one core", "local:1:1", f"local:2:{cpus // 2}"),
                               ("ray", f"ray:1:{cpus}", f"ray:2:{cpus // 2}")):
        one, two = results["rows"].get(base), results["rows"].get(other)
        if one and two:
            print(f"{label}: {other} / {base} = {two['videos_per_s'] / one['videos_per_s']:.2f}x videos/s, "
                  f"{two['steady_videos_per_s'] / one['steady_videos_per_s']:.2f}x steady")


def main(argv: list[str] | None = None) -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--videos", type=int, default=8, help="demo videos (default 8)")
    parser.add_argument("--frames", type=int, default=64, help="frames per video (default 64)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every configuration (default 1)")
    parser.add_argument("--engines", nargs="+", choices=("local", "ray"), default=["local", "ray"])
    args = parser.parse_args(argv)
    configurations = [c for c in CONFIGURATIONS if c[0] in args.engines]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for index in range(args.videos):
            make_demo_video(tmp / "videos" / f"demo_{index:02d}.mp4", num_frames=args.frames, seed=index)
        models = model_dir(tmp)
        if "ray" in args.engines:
            connect_ray(num_cpus=available_cpus())
        busy_before = machine_busy_pct()
        runs: dict[str, list[dict]] = {key(*configuration): [] for configuration in configurations}
        for round_number in range(args.repeats):
            for name, workers, threads in configurations:
                out = tmp / f"out_{key(name, workers, threads).replace(':', '_')}_{round_number}"
                runs[key(name, workers, threads)].append(measure(name, workers, threads, tmp / "videos", models, out))
    model = CONFIG.model
    results = {"videos": args.videos, "frames": args.frames, "cpus": available_cpus(), "repeats": args.repeats,
               "windows_per_video": len(window_starts(args.frames - 1, model.sequence_length, model.stride)),
               "busy_before_pct": busy_before, "runs": runs,
               "rows": {key: summarise(value) for key, value in runs.items()}}
    report(results)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
