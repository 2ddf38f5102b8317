"""Evaluation reports of whole data folders: `FeatureExtractorEvaluator` over every input of a folder,
written with its plots (`report.json`, `confusion_matrix.png`, `projection.png`), and the reports
stored so far found again (`<evaluations>/<dataset>/<run>/report.json`).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from core.common.progress import ProgressCallback, no_progress
from core.errors import DFEError
from core.evaluation.metrics import (CONFUSION_MATRIX_FILE, PROJECTION_FILE, REPORT_FILE, EvaluationError,
                                     FeatureExtractorEvaluator, write_report)
from core.features.folders import Sequence, extract_folder
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames


# Extraction's view of a video (I3D's short side 256, centre crop 224), in colour: the stability
# perturbations (brightness, shift) act on the colour frames before flow.
EXTRACTION_VIEW = replace(I3D_FLOW_TRANSFORM, gray=False)


def first_frames(video: Path, count: int, fps: float | None) -> np.ndarray:
    """The first `count` frames `[count, 224, 224, 3] uint8` RGB of `video` as extraction sees them
    (resampled to `fps`, None: the video's rate), so that stability is measured on the view the
    reported features come from."""
    frames = []
    for frame in iter_frames(video, fps, EXTRACTION_VIEW):
        frames.append(frame[..., ::-1])
        if len(frames) == count:
            break
    return np.stack(frames)


def evaluate_folder(extractor, data_dir: str | os.PathLike, output_dir: str | os.PathLike,
                    progress_for: Callable[[Sequence], ProgressCallback] = lambda _: no_progress,
                    stability_clips: int = 3) -> Path:
    """The evaluation report of `FeatureExtractorEvaluator` for a folder, written with its plots.

    Labelled folders: discriminability of the windows (labels from folders), stability on a few
    videos; unlabelled ones: discriminability of the inputs of 2 or more windows, each its own class;
    every folder: temporal consistency and instance discrimination of the inputs. Too few classes or
    windows to measure discriminability is an `EvaluationError`, raised before the report is written."""
    results, failed = extract_folder(extractor, data_dir, Path(output_dir) / "features", progress_for)
    if not results:
        raise DFEError(f"no input of {data_dir} could be used: {failed[0][1] if failed else ''}")
    evaluator = FeatureExtractorEvaluator(extractor, extractor.config.flow.method)
    videos = [features for _, features in results]
    labelled = [(s, f) for s, f in results if s.label is not None]
    class_names = sorted({s.label for s, _ in labelled})
    if len(class_names) >= 2:
        members = [(class_names.index(s.label), f) for s, f in labelled]  # (class index, its input's features)
    else:  # unlabelled: one "class" per input of 2 or more windows, so the report shows how separable they are
        classes = [(s, f) for s, f in results if len(f.features) >= 2]
        if len(classes) < 2:
            raise EvaluationError(f"{data_dir} has no class folders, so its inputs are told apart from each other: "
                                  f"that needs 2 or more inputs of 2 or more windows each, got {len(classes)}")
        class_names = [s.name for s, _ in classes]
        members = [(index, f) for index, (_, f) in enumerate(classes)]
    features = np.concatenate([f.features.reshape(len(f.features), -1) for _, f in members])
    labels = np.concatenate([np.full(len(f.features), index) for index, f in members])
    clips = [first_frames(s.path, extractor.config.model.sequence_length + 1, extractor.config.flow.fps)
             for s, _ in results if s.is_video][:stability_clips]
    report = evaluator.evaluate(features, labels, class_names, clips_for_stability=clips,
                                videos=[v for v in videos if len(v.features) >= 2])
    report["failed"] = {s.name: message for s, message in failed}
    return write_report(report, output_dir, features, labels)


class StoredReport(NamedTuple):
    """An evaluation report found in `<evaluations>/<dataset>/<run>/`, with its plots beside it."""

    name: str  # "<dataset> / <run>"
    path: Path  # its report.json
    report: dict[str, Any]

    @property
    def confusion_matrix(self) -> Path:
        """The leave-one-out 1-NN confusion matrix (PNG) drawn with the report."""
        return self.path.parent / CONFUSION_MATRIX_FILE

    @property
    def projection(self) -> Path:
        """The PCA projection of the windows' features (PNG) drawn with the report."""
        return self.path.parent / PROJECTION_FILE

    def summary(self) -> str:
        """One line: how many windows and classes, the inputs that failed and the report's notes (if any)."""
        failed, notes = self.report.get("failed"), self.report.get("notes", [])
        return "; ".join([f"{self.report['clips']} windows, {len(self.report['classes'])} classes",
                          *([f"inputs that failed: {', '.join(failed)}"] if failed else []), *notes])


def find_reports(evaluations_dir: str | os.PathLike) -> tuple[list[StoredReport], list[tuple[str, str]]]:
    """(the readable reports, sorted by dataset then run; (name, reason) of each unreadable one) of
    every `<dataset>/<run>/report.json` under `evaluations_dir` (none when it does not exist)."""
    reports, unreadable = [], []
    for path in sorted(Path(evaluations_dir).glob(f"*/*/{REPORT_FILE}")):
        name = f"{path.parent.parent.name} / {path.parent.name}"
        try:
            reports.append(StoredReport(name, path, json.loads(path.read_text())))
        except (OSError, ValueError) as error:
            unreadable.append((name, str(error)))
    return reports, unreadable


def same_classes(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two reports were run on data with the same classes, so their metrics compare."""
    return first["classes"] == second["classes"]
