"""Shared by the benchmarks: the flow variants with their raw OpenCV equivalents, timing, tables, JSON.

Each variant pairs a registered method and its parameters with the plain OpenCV calls that its
defaults stand for, so a benchmark can compare the pipeline against OpenCV used directly.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import cv2

from core.flow.computer import OpticalFlowComputer
from core.flow.methods import PairFunction


def packed_row(text: str) -> tuple[str, Callable[[], Any]]:
    """`LABEL=PATH` (a `--packed` option) -> (label, a builder of the flow I3D with the packed weights
    at PATH, e.g. a file `python -m core weights train-default --output PATH` wrote)."""
    label, _, path = text.partition("=")
    if not label or not path or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected LABEL=PATH of a packed weights file, got {text!r}")

    def build():
        from core.model.i3d import build_i3d
        from core.weights.packed import load_packed_weights

        model = build_i3d(channels=2, size=224)
        load_packed_weights(model, path)
        return model
    return label, build


def _calc(create: Callable[[], Any]) -> Callable[[], PairFunction]:
    """A raw pair-function builder: one OpenCV object made by `create`, called as `calc(a, b, None)`."""
    def build() -> PairFunction:
        algorithm = create()
        return lambda a, b: algorithm.calc(a, b, None)
    return build


def _dis(preset: int) -> Callable[[], PairFunction]:
    return _calc(lambda: cv2.DISOpticalFlow_create(preset))


def _raw_farneback() -> PairFunction:
    return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.1, 0)


def _raw_rlof() -> PairFunction:
    """RLOF needs BGR frames: the grey ones are converted, as a caller of OpenCV would."""
    rlof = cv2.optflow.DenseRLOFOpticalFlow_create()
    return lambda a, b: rlof.calc(cv2.cvtColor(a, cv2.COLOR_GRAY2BGR),
                                  cv2.cvtColor(b, cv2.COLOR_GRAY2BGR), None)


def _raw_tvl1_dis() -> PairFunction:
    """DIS medium's flow refined by DualTVL1 at full resolution, one warp."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(nscales=1, warps=1, useInitialFlow=True)
    return lambda a, b: tvl1.calc(a, b, dis.calc(a, b, None))


@dataclass(frozen=True)
class Variant:
    """One benchmark row: a registered flow method with parameters, and the same flow in raw OpenCV.

    Attributes:
        label: the row's name, e.g. "dis medium".
        method, params: what `OpticalFlowComputer` gets.
        raw: builds one OpenCV object and returns its pair function, grey `[H, W] uint8` frames ->
            `[H, W, 2] float32` (dx, dy) pixels; the object is reused by every call.
    """

    label: str
    method: str
    params: Mapping[str, Any]
    raw: Callable[[], PairFunction]

    def computer(self, workers: int) -> OpticalFlowComputer:
        """The pipeline's computer for this variant."""
        return OpticalFlowComputer(self.method, workers=workers, **self.params)


VARIANTS: dict[str, Variant] = {variant.label: variant for variant in (
    Variant("farneback", "farneback", {}, _raw_farneback),
    Variant("dis ultrafast", "dis", {"preset": "ultrafast"}, _dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)),
    Variant("dis fast", "dis", {"preset": "fast"}, _dis(cv2.DISOPTICAL_FLOW_PRESET_FAST)),
    Variant("dis medium", "dis", {"preset": "medium"}, _dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)),
    Variant("tvl1", "tvl1", {}, _calc(cv2.optflow.DualTVL1OpticalFlow_create)),
    Variant("tvl1_dis", "tvl1_dis", {}, _raw_tvl1_dis),
    Variant("deepflow", "deepflow", {}, _calc(cv2.optflow.createOptFlow_DeepFlow)),
    Variant("rlof", "rlof", {}, _raw_rlof),
)}


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    """`run()`'s result and its wall time in seconds (time.perf_counter)."""
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def median_seconds(runs: Mapping[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median wall time in seconds of each of `runs` over `repeats` rounds, by name.

    A first, untimed round warms everything up. A round calls every run in turn, so a passing
    disturbance (another busy process) spoils one sample of each run rather than every sample of one.
    """
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for round_number in range(1 + repeats):
        for name, run in runs.items():
            elapsed = timed(run)[1]
            if round_number:
                samples[name].append(elapsed)
    return {name: statistics.median(times) for name, times in samples.items()}


def _cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over CPUs (/proc/stat)."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    tick = os.sysconf("SC_CLK_TCK")
    return busy / tick, (busy + idle + iowait) / tick


def elsewhere_pct(run: Callable[[], Any]) -> tuple[Any, float]:
    """`run()`'s result and the share of the machine's CPU time during it, in percent, that went to
    anything but this process (other processes, the hypervisor): timings are only clean near 0."""
    own_before, (busy_before, total_before) = os.times(), _cpu_seconds()
    result = run()
    own_after, (busy_after, total_after) = os.times(), _cpu_seconds()
    own = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    return result, 100 * max(0.0, busy_after - busy_before - own) / (total_after - total_before)


def machine_busy_pct(seconds: float = 3.0) -> float:
    """The share of the machine's CPU time, in percent, that was busy over the next `seconds`: run
    before a benchmark whose work spans several processes, it is what other processes take."""
    busy_before, total_before = _cpu_seconds()
    time.sleep(seconds)
    busy_after, total_after = _cpu_seconds()
    return 100 * (busy_after - busy_before) / (total_after - total_before)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows of cells as aligned columns: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths)))

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def make_missing_weights(names: Sequence[str]) -> None:
    """Make the named flow weights that are made on this machine and not yet there: `motion_adapted`
    (the earlier default, which set-up no longer makes; 6 to 10 min on 2 cores, once)."""
    if "motion_adapted" in names:
        from core.common.progress import TqdmProgress
        from core.training.motion_adapted import prepare_motion_adapted

        with TqdmProgress("motion_adapted flow weights (made once)", "step") as progress:
            prepare_motion_adapted(progress=progress)


def verdict(passed: bool) -> str:
    """PASS or FAIL, for a target check."""
    return "PASS" if passed else "FAIL"


def argument_parser(description: str, methods: bool = False) -> argparse.ArgumentParser:
    """A parser with `description` (the module docstring) as help and the `--json PATH` option
    every benchmark has; with `methods`, also `--methods` to pick rows of `VARIANTS`."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    if methods:
        parser.add_argument("--methods", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                            metavar="METHOD", help=f"rows to run, quoted if they have a space "
                            f"(default all: {', '.join(VARIANTS)})")
    return parser


def parse_with_video(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
                     default: Path) -> argparse.Namespace:
    """Adds `--video PATH` (default `default`, one of opencv-doc's videos) to `parser` and parses
    `argv`; exits with a clear message where the video is absent."""
    parser.add_argument("--video", type=Path, default=default, help=f"a video (default {default})")
    args = parser.parse_args(argv)
    if not args.video.is_file():
        parser.error(f"{args.video} not found: install Debian's opencv-doc or give --video")
    return args


def write_json(path: Path | None, results: Mapping[str, Any]) -> None:
    """Write `results` to `path` as indented JSON, if a path was given."""
    if path is not None:
        path.write_text(json.dumps(results, indent=2) + "\n")
