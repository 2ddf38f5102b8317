"""Feature quality: consistency, stability and discriminability (scikit-learn does the maths), and
`FeatureExtractorEvaluator`, which measures them for an extractor and writes a report.

Metrics (features `[N, D]`, labels `[N]`):
- temporal consistency: mean cosine similarity of consecutive windows within a video;
- stability: cosine similarity of a clip's features to those of the same clip perturbed (flow noise,
  a brightness change before flow, a shift of a few pixels), each reported separately;
- discriminability: leave-one-out k-NN accuracy (k = 1, and 5 where every class has 3 or more
  clips; cosine), silhouette score (cosine),
  Fisher ratio (trace of between-class over within-class scatter), cross-validated linear-probe
  accuracy (logistic regression), and without labels, instance discrimination (is a window's nearest
  neighbour, among windows that do not overlap it, from the same video?).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.common.atomic import write_json_atomic
from core.errors import DFEError
from core.features.similarity import unit_rows
from core.features.space import require_one_space
from core.flow.computer import OpticalFlowComputer


REPORT_FILE, CONFUSION_MATRIX_FILE, PROJECTION_FILE = "report.json", "confusion_matrix.png", "projection.png"


class EvaluationError(DFEError, ValueError):
    """Too few clips, windows or labels for a metric."""


def knn_loo_predictions(features: np.ndarray, labels: np.ndarray, k: int = 1) -> np.ndarray:
    """Leave-one-out k-NN predictions (cosine): each clip voted on by its k nearest *other* clips."""
    labels = np.asarray(labels)
    if len(features) != len(labels) or len(features) <= k:
        raise EvaluationError(f"need more than k={k} clips with one label each, got {len(features)} "
                         f"features and {len(labels)} labels")
    model = KNeighborsClassifier(n_neighbors=k + 1, metric="cosine").fit(unit_rows(features), labels)
    neighbours = model.kneighbors(unit_rows(features), return_distance=False)
    predictions = []
    for row, own in enumerate(neighbours):
        others = [i for i in own if i != row][:k]
        values, counts = np.unique(labels[others], return_counts=True)
        predictions.append(values[np.argmax(counts)])
    return np.array(predictions)


def knn_loo_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Leave-one-out k-NN accuracy with cosine distance (see `knn_loo_predictions`)."""
    return float(np.mean(knn_loo_predictions(features, labels, k) == np.asarray(labels)))


def fisher_ratio(features: np.ndarray, labels: np.ndarray) -> float:
    """trace(between-class scatter) / trace(within-class scatter) of L2-normalised features."""
    features, labels = unit_rows(features), np.asarray(labels)
    mean = features.mean(axis=0)
    between = within = 0.0
    for label in np.unique(labels):
        members = features[labels == label]
        centre = members.mean(axis=0)
        between += len(members) * float(np.sum((centre - mean) ** 2))
        within += float(np.sum((members - centre) ** 2))
    return between / max(within, 1e-12)


def linear_probe_accuracy(features: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Mean accuracy of a standardised logistic regression over stratified folds."""
    labels = np.asarray(labels)
    folds = max(2, min(folds, int(np.bincount(np.unique(labels, return_inverse=True)[1]).min())))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(probe, unit_rows(features), labels, cv=splits).mean())


def temporal_consistency(features: np.ndarray) -> float:
    """Mean cosine similarity of consecutive rows (windows) of one video's `[N, D]` features."""
    unit = unit_rows(features)
    if len(unit) < 2:
        raise EvaluationError("temporal consistency needs at least two windows")
    return float(np.mean(np.sum(unit[1:] * unit[:-1], axis=1)))


def instance_discrimination(features: Sequence[np.ndarray], starts: Sequence[np.ndarray],
                            length: int) -> float | None:
    """Fraction of windows whose nearest neighbour (cosine) among windows that do not overlap them
    comes from the same video. `features[v]` is `[N_v, D]`, `starts[v]` the windows' first frames.
    Only windows that have a non-overlapping window in their own video count; None if none has."""
    all_features = unit_rows(np.concatenate(features))
    video = np.concatenate([np.full(len(f), v) for v, f in enumerate(features)])
    start = np.concatenate(starts)
    same_video = video[:, None] == video[None, :]
    overlapping = same_video & (np.abs(start[:, None] - start[None, :]) < length)
    counted = (same_video & ~overlapping).any(axis=1)
    if not counted.any():
        return None
    similarity = all_features @ all_features.T
    similarity[overlapping] = -np.inf
    nearest = np.argmax(similarity, axis=1)
    return float(np.mean(video[nearest][counted] == video[counted]))


def smallest_class(labels: np.ndarray) -> int:
    """How many clips the least represented label has."""
    return int(np.unique(np.asarray(labels), return_counts=True)[1].min())


def knn_vote_is_winnable(labels: np.ndarray, k: int) -> bool:
    """Whether every clip's own label can win its leave-one-out k-NN vote outright: a clip of the
    smallest class can have all k neighbours of its label, or at least two against one each of the
    others. Otherwise (e.g. 5-NN with 2 clips per class) only a tie-break can make it right."""
    return smallest_class(labels) - 1 >= min(k, 2)


def discriminability(features: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """k-NN (1, 5), silhouette, Fisher ratio and linear-probe accuracy of labelled features;
    `knn5_accuracy` only where a 5-NN vote is winnable (`knn_vote_is_winnable`: 3 or more clips of
    every class), since below that it measures the tie-break, not the features."""
    labels = np.asarray(labels)
    knn = {f"knn{k}_accuracy": knn_loo_accuracy(features, labels, k)
           for k in (1, 5) if k == 1 or knn_vote_is_winnable(labels, k)}
    return {**knn, "silhouette": float(silhouette_score(unit_rows(features), labels, metric="cosine")),
            "fisher_ratio": fisher_ratio(features, labels),
            "linear_probe_accuracy": linear_probe_accuracy(features, labels)}


def require_discriminable(labels: np.ndarray, class_names: Sequence[str]) -> None:
    """Raise `EvaluationError` unless there are 2 or more classes and each has 2 or more windows:
    leave-one-out k-NN can find a window's class only among its other windows, and the silhouette is
    undefined otherwise. `labels` `[N]` index `class_names`."""
    counts = np.bincount(np.asarray(labels), minlength=len(class_names))
    present = np.flatnonzero(counts)
    if len(present) < 2:
        raise EvaluationError(f"discriminability compares classes: it needs 2 or more, got {len(present)} "
                              f"({', '.join(class_names[i] for i in present) or 'none'})")
    alone = [class_names[i] for i in present if counts[i] == 1]
    if alone:
        raise EvaluationError(f"discriminability needs 2 or more windows of every class (a window's class is "
                              f"looked for among the others); one window only: {', '.join(alone)}. Add clips of "
                              "those classes, or longer ones")


def discriminability_notes(labels: np.ndarray) -> list[str]:
    """What `discriminability` leaves out for these labels, and why (for a report's reader)."""
    if knn_vote_is_winnable(labels, 5):
        return []
    return [f"5-NN accuracy left out: the smallest class has {smallest_class(labels)} window(s), and a 5-NN "
            "vote needs 3 or more of every class to be won by a window's own class"]


def cosine_to(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two `[N, D]` arrays."""
    return np.sum(unit_rows(reference) * unit_rows(other), axis=1)


@dataclass(frozen=True)
class Perturbation:
    """A small change to a clip: `kind` is "flow_noise" (sigma pixels added to the flow),
    "brightness" (frames scaled by 1 + amount before flow) or "shift" (frames shifted by amount px)."""

    kind: str
    amount: float


DEFAULT_PERTURBATIONS = (Perturbation("flow_noise", 0.5), Perturbation("brightness", 0.2),
                         Perturbation("shift", 3.0))


def perturb_frames(frames: np.ndarray, perturbation: Perturbation) -> np.ndarray:
    """`[T, H, W, 3] uint8` frames after a brightness change or a shift (flow noise: unchanged)."""
    if perturbation.kind == "brightness":
        return np.clip(frames.astype(np.float32) * (1 + perturbation.amount), 0, 255).astype(np.uint8)
    if perturbation.kind == "shift":
        matrix = np.float32([[1, 0, perturbation.amount], [0, 1, perturbation.amount]])
        return np.stack([cv2.warpAffine(f, matrix, f.shape[1::-1], borderMode=cv2.BORDER_REFLECT101)
                         for f in frames])
    return frames


class FeatureExtractorEvaluator:
    """Measures an extractor's features (see module docstring) and writes a JSON report with plots.

    Args:
        extractor: a `DynamicFeatureExtractor`.
        flow_method: the flow algorithm used for clips evaluated from frames.
    """

    def __init__(self, extractor, flow_method: str = "dis") -> None:
        self.extractor = extractor
        self.computer = OpticalFlowComputer(flow_method)

    def clip_features(self, frames: Sequence[np.ndarray], perturbation: Perturbation | None = None,
                      seed: int = 0) -> np.ndarray:
        """Features `[D]` of one clip `[T + 1, H, W, 3] uint8` (RGB), optionally perturbed."""
        frames = np.asarray(frames)
        if perturbation is not None:
            frames = perturb_frames(frames, perturbation)
        flow = self.computer.compute_sequence([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
        if perturbation is not None and perturbation.kind == "flow_noise":
            flow = flow + np.random.default_rng(seed).normal(0, perturbation.amount, flow.shape).astype(np.float32)
        return self.extractor.extract_features(self.extractor.preprocess_flow_sequence(flow))[0]

    def stability(self, clips: Sequence[np.ndarray],
                  perturbations: Sequence[Perturbation] = DEFAULT_PERTURBATIONS) -> dict[str, float]:
        """Mean cosine similarity between each clip's features and its perturbed versions, per kind."""
        reference = np.stack([self.clip_features(c) for c in clips])
        return {f"{p.kind}_{p.amount:g}": float(cosine_to(reference, np.stack(
            [self.clip_features(c, p, seed=i) for i, c in enumerate(clips)])).mean()) for p in perturbations}

    def evaluate(self, features: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                 clips_for_stability: Sequence[np.ndarray] = (), videos: Sequence[Any] = ()) -> dict[str, Any]:
        """The full report: discriminability of labelled clip features, the confusion matrix of
        leave-one-out 1-NN, stability on `clips_for_stability`, and for `videos` (`FeatureSet`s)
        temporal consistency and instance discrimination."""
        require_one_space(videos)
        labels = np.asarray(labels)
        require_discriminable(labels, class_names)
        report: dict[str, Any] = {"clips": len(features), "classes": list(class_names),
                                  "discriminability": discriminability(features, labels),
                                  "confusion_matrix": confusion_matrix(
                                      labels, knn_loo_predictions(features, labels, 1),
                                      labels=range(len(class_names))).tolist()}
        notes = discriminability_notes(labels)
        if notes:
            report["notes"] = notes
        if len(clips_for_stability):
            report["stability"] = self.stability(clips_for_stability)
        if len(videos):
            report["temporal_consistency"] = {v.name: temporal_consistency(v.features) for v in videos}
            report["instance_discrimination"] = instance_discrimination(
                [v.features for v in videos], [np.array([w.start for w in v.windows]) for v in videos],
                self.extractor.config.model.sequence_length)
        return report


def confusion_matrix_plot(report: dict[str, Any]) -> Figure:
    """The leave-one-out 1-NN confusion matrix of a report."""
    matrix = np.array(report["confusion_matrix"])
    names = report["classes"]
    figure = Figure(figsize=(1.0 + 0.55 * len(names), 0.8 + 0.5 * len(names)))
    axis = figure.subplots()
    image = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axis.text(column, row, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > matrix.max() / 2 else "black")
    axis.set_xlabel("predicted (leave-one-out 1-NN)")
    axis.set_ylabel("true class")
    axis.set_title(f"1-NN accuracy {report['discriminability']['knn1_accuracy']:.3f}")
    figure.colorbar(image, ax=axis, label="clips")
    return figure


def projection_plot(features: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> Figure:
    """The clips in the plane of the first two principal components, coloured by class."""
    coordinates = PCA(n_components=2).fit_transform(unit_rows(features))
    figure = Figure(figsize=(7, 5.5))
    axis = figure.subplots()
    for index, name in enumerate(class_names):
        members = np.asarray(labels) == index
        axis.scatter(coordinates[members, 0], coordinates[members, 1], s=22, label=name)
    axis.set_xlabel("PC 1")
    axis.set_ylabel("PC 2")
    axis.set_title("features of the labelled clips (PCA)")
    axis.legend(fontsize=7, loc="best", ncol=2)
    return figure


def write_report(report: dict[str, Any], output_dir: str | os.PathLike, features: np.ndarray,
                 labels: np.ndarray) -> Path:
    """`report.json`, `confusion_matrix.png` and `projection.png` in `output_dir`; returns the JSON path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    confusion_matrix_plot(report).savefig(output_dir / CONFUSION_MATRIX_FILE, dpi=110, bbox_inches="tight")
    projection_plot(features, labels, report["classes"]).savefig(output_dir / PROJECTION_FILE, dpi=110,
                                                                 bbox_inches="tight")
    return write_json_atomic(output_dir / REPORT_FILE, report)


def report_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The scalar metrics of a report, flat: discriminability, stability per perturbation, mean
    temporal consistency and instance discrimination (those the report has)."""
    metrics = dict(report["discriminability"])
    metrics.update({f"stability_{kind}": value for kind, value in report.get("stability", {}).items()})
    if report.get("temporal_consistency"):
        metrics["temporal_consistency_mean"] = float(np.mean(list(report["temporal_consistency"].values())))
    if report.get("instance_discrimination") is not None:
        metrics["instance_discrimination"] = report["instance_discrimination"]
    return metrics


def compare_reports(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric of either report: {metric, first, second, difference (second - first)}."""
    a, b = report_metrics(first), report_metrics(second)
    return [{"metric": name, "first": a.get(name), "second": b.get(name),
             "difference": b[name] - a[name] if name in a and name in b else None}
            for name in dict.fromkeys([*a, *b])]
