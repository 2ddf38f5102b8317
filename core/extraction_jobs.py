"""Whole-folder work for the CLI and the dashboard: features for every sequence in a folder, an
evaluation report, and a visual test of a few samples.

A data folder may hold videos, stored flow (`.npy` + record), or one sub-folder per class of either;
`find_sequences` lists what is there as (name, path, class or None).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import DFEError
from core.feature_plots import features_time_heatmap, pca_trajectory_plot, similarity_matrix_plot
from core.feature_store import FeatureSet, write_features
from core.flow_io import npy_shape
from core.metrics import FeatureExtractorEvaluator, write_report
from core.progress import ProgressCallback, no_progress
from core.sequences import OpticalFlowSequenceLoader
from core.training import class_folders
from core.video import VIDEO_EXTENSIONS, FrameTransform, iter_frames
from core.visualization import FeatureVisualization

VISUAL_LAYER = "Mixed_4f"


@dataclass(frozen=True)
class Sequence:
    """One input: a video or a stored flow `.npy`, with its class folder name when labelled."""

    name: str
    path: Path
    label: str | None

    @property
    def is_video(self) -> bool:
        return self.path.suffix.lower() in VIDEO_EXTENSIONS


def _inputs_in(folder: Path, label: str | None) -> list[Sequence]:
    found = []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):  # no uploads in progress
        if path.suffix.lower() in VIDEO_EXTENSIONS or (path.suffix == ".npy" and (npy_shape(path) or ())[-1:] == (2,)):
            name = f"{label}__{path.stem}" if label else path.stem
            found.append(Sequence(name, path, label))
    return found


def find_sequences(data_dir: str | os.PathLike) -> list[Sequence]:
    """Every video / stored flow in `data_dir`, or in its class folders (labelled)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DFEError(f"data folder not found: {root}")
    folders = class_folders(root)
    sequences = [s for folder in folders for s in _inputs_in(folder, folder.name)] if folders else _inputs_in(root, None)
    if not sequences:
        raise DFEError(f"no videos or .npy flow in {root} (or in class folders under it)")
    return sequences


def sequence_features(extractor, sequence: Sequence, output_dir: Path,
                      progress: ProgressCallback = no_progress) -> FeatureSet:
    """Per-window features of one input, written to `output_dir` (videos: flow cached in
    `output_dir/flow`, features reused on re-runs)."""
    if sequence.is_video:
        result = extractor.extract_video(sequence.path, output_dir=output_dir, progress=progress)
    else:
        loader = OpticalFlowSequenceLoader(sequence.path.parent)
        flow, fps = loader.load(sequence.path)
        result = extractor.extract_flow(flow, fps, sequence.path.stem, progress)
        write_features(output_dir, result)
    result.name = sequence.name
    return result


def extract_folder(extractor, data_dir: str | os.PathLike, output_dir: str | os.PathLike,
                   progress_for: Callable[[Sequence], ProgressCallback] = lambda _: no_progress,
                   ) -> tuple[list[tuple[Sequence, FeatureSet]], list[tuple[Sequence, str]]]:
    """Features for every input: ([(input, features)], [(input, error message)]); a bad input is
    reported and the others go on."""
    done, failed = [], []
    for sequence in find_sequences(data_dir):
        folder = Path(output_dir) / sequence.label if sequence.label else Path(output_dir)
        try:
            done.append((sequence, sequence_features(extractor, sequence, folder, progress_for(sequence))))
        except DFEError as error:
            failed.append((sequence, str(error)))
    return done, failed


def _first_frames(video: Path, count: int) -> np.ndarray:
    frames = []
    for frame in iter_frames(video, transform=FrameTransform(short_side=224, crop=224)):
        frames.append(frame[..., ::-1])
        if len(frames) == count:
            break
    return np.stack(frames)


def evaluate_folder(extractor, data_dir: str | os.PathLike, output_dir: str | os.PathLike,
                    progress_for: Callable[[Sequence], ProgressCallback] = lambda _: no_progress,
                    stability_clips: int = 3) -> Path:
    """The evaluation report of `FeatureExtractorEvaluator` for a folder, written with its plots.

    Labelled folders: discriminability of the windows (labels from folders), stability on a few
    videos; every folder: temporal consistency and instance discrimination of the inputs."""
    results, failed = extract_folder(extractor, data_dir, Path(output_dir) / "features", progress_for)
    if not results:
        raise DFEError(f"no input of {data_dir} could be used: {failed[0][1] if failed else ''}")
    evaluator = FeatureExtractorEvaluator(extractor, extractor.config.flow.method)
    videos = [features for _, features in results]
    labelled = [(s, f) for s, f in results if s.label is not None]
    class_names = sorted({s.label for s, _ in labelled})
    if len(class_names) >= 2:
        features = np.concatenate([f.features.reshape(len(f.features), -1) for _, f in labelled])
        labels = np.concatenate([np.full(len(f.features), class_names.index(s.label)) for s, f in labelled])
    else:  # unlabelled: one "class" per input, so the report still shows how separable they are
        class_names = [s.name for s, _ in results]
        features = np.concatenate([f.features.reshape(len(f.features), -1) for _, f in results])
        labels = np.concatenate([np.full(len(f.features), i) for i, (_, f) in enumerate(results)])
    clips = [_first_frames(s.path, extractor.config.model.sequence_length + 1)
             for s, _ in results if s.is_video][:stability_clips]
    report = evaluator.evaluate(features, labels, class_names, clips_for_stability=clips,
                                videos=[v for v in videos if len(v.features) >= 2])
    report["failed"] = {s.name: message for s, message in failed}
    return write_report(report, output_dir, features, labels)


def visualize_sample(extractor, sequence: Sequence, output_dir: Path, layer: str = VISUAL_LAYER) -> list[Path]:
    """Features and every visualisation of one input into `output_dir` (PNG/GIF); returns the files."""
    output_dir.mkdir(parents=True, exist_ok=True)
    result = sequence_features(extractor, sequence, output_dir)
    flow_dir = output_dir / "flow"
    if sequence.is_video:
        from core.flow_store import load_flow
        flow = load_flow(flow_dir, sequence.path.stem)[0]
    else:
        flow = OpticalFlowSequenceLoader(sequence.path.parent).load(sequence.path)[0]
    window = result.windows[0]
    clip = extractor.preprocess_flow_sequence(np.asarray(flow[window.start:window.stop]))
    visualizer = FeatureVisualization(extractor.model, layer, fps=result.fps)
    activations = visualizer.get_intermediate_activations(clip)
    indices = list(np.argsort(-activations[0].mean(axis=(0, 1, 2)))[:3])  # the most active channels
    visualizer.save_views(activations, indices, output_dir, flow_sequence=clip)
    for name, plot in (("features_over_time.png", features_time_heatmap), ("trajectory.png", pca_trajectory_plot),
                       ("similarity.png", similarity_matrix_plot)):
        plot(result).savefig(output_dir / name, dpi=110, bbox_inches="tight")
    return sorted(p for p in output_dir.iterdir() if p.suffix in (".png", ".gif"))
