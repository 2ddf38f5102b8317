"""Feature metrics and FeatureExtractorEvaluator on small, known cases and real motion clips."""

from __future__ import annotations

import json
from itertools import islice

import cv2
import imageio.v2 as imageio
import numpy as np
import pytest

from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.features.sequences import make_windows
from core.features.space import FeatureSpaceError
from core.features.store import FeatureSet
from core.evaluation.metrics import (EvaluationError, FeatureExtractorEvaluator, Perturbation, cosine_to,
                                     discriminability, fisher_ratio, instance_discrimination, linear_probe_accuracy,
                                     perturb_frames, temporal_consistency, write_report)
from core.evaluation.reports import StoredReport, evaluate_folder, first_frames
from core.training.motion_dataset import MOTIONS, render_clip, sample_clips
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames
from core.video.synthetic import make_demo_video


def clusters(spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 8) * 5
    labels = np.repeat(np.arange(3), 10)
    return centres[labels] + rng.normal(0, spread, (30, 8)), labels


def test_discriminability_separates_tight_from_loose_clusters():
    tight, loose = discriminability(*clusters(0.3)), discriminability(*clusters(6.0))
    assert tight["knn1_accuracy"] == 1.0 and tight["linear_probe_accuracy"] == 1.0
    assert tight["silhouette"] > 0.5 > loose["silhouette"]
    assert fisher_ratio(*clusters(0.3)) > 10 * fisher_ratio(*clusters(6.0))
    assert set(tight) == {"knn1_accuracy", "knn5_accuracy", "silhouette", "fisher_ratio",
                          "linear_probe_accuracy"}
    assert linear_probe_accuracy(*clusters(0.3), folds=3) == 1.0


def test_five_nn_accuracy_is_left_out_where_no_window_can_win_the_vote_for_its_own_class(tmp_path):
    """2 windows per class (the Evaluate page's default set): a window's 5 nearest hold at most one
    of its class, so a 5-NN score would be the tie-break's; the report says why it is missing."""
    features, labels = clusters(0.3)
    for per_class, kept in ((2, False), (3, True)):
        rows = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(3)])
        assert ("knn5_accuracy" in discriminability(features[rows], labels[rows])) is kept, per_class
    rows = np.concatenate([np.flatnonzero(labels == c)[:2] for c in range(3)])
    extractor = DynamicFeatureExtractor(config=ExtractorConfig(model=ModelSection(weights="random")))
    report = FeatureExtractorEvaluator(extractor).evaluate(features[rows], labels[rows], ["a", "b", "c"])
    assert report["discriminability"]["knn1_accuracy"] == 1.0
    assert report["notes"] == ["5-NN accuracy left out: the smallest class has 2 window(s), and a 5-NN vote "
                               "needs 3 or more of every class to be won by a window's own class"]
    write_report(report, tmp_path / "two", features[rows], labels[rows])
    assert StoredReport("two / run", tmp_path / "two" / "report.json", report).summary() == (
        "6 windows, 3 classes; " + report["notes"][0])


def test_too_few_windows_or_classes_for_discriminability_is_a_clear_error():
    """A class with one window has nothing to be found among (and no silhouette): named, not sklearn's error."""
    features, labels = clusters(0.3)
    evaluator = FeatureExtractorEvaluator(DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random"))))
    rows = np.concatenate([np.flatnonzero(labels == 0)[:3], np.flatnonzero(labels == 1)[:1],
                           np.flatnonzero(labels == 2)[:1]])
    with pytest.raises(EvaluationError, match=r"one window only: b, c\. Add clips"):
        evaluator.evaluate(features[rows], labels[rows], ["a", "b", "c"])
    with pytest.raises(EvaluationError, match=r"needs 2 or more, got 1 \(a\)"):
        evaluator.evaluate(features[:10], labels[:10], ["a", "b", "c"])


def test_an_unlabelled_folder_is_told_apart_by_its_inputs_of_two_or_more_windows(tmp_path):
    """Without class folders each input is a class: one-window inputs are left out of discriminability
    (kept for the rest), and fewer than two inputs left is an error before any report is written."""
    data = tmp_path / "videos"
    for name, frames in (("long_a", 19), ("long_b", 19), ("short", 10)):
        make_demo_video(data / f"{name}.mp4", num_frames=frames, fps=25.0, size=(240, 224), seed=len(name))
    extractor = DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random", sequence_length=9, stride=9),
        inference=InferenceSection(precision="float32")))
    report = json.loads(evaluate_folder(extractor, data, tmp_path / "eval", stability_clips=0).read_text())
    assert (report["classes"], report["clips"]) == (["long_a", "long_b"], 4)
    assert report["failed"] == {} and report["notes"]  # 2 windows per class: no 5-NN
    (data / "long_b.mp4").unlink()
    with pytest.raises(EvaluationError, match="2 or more inputs of 2 or more windows each, got 1"):
        evaluate_folder(extractor, data, tmp_path / "again", stability_clips=0)
    assert not (tmp_path / "again" / "report.json").exists()


def test_temporal_consistency_and_instance_discrimination():
    assert temporal_consistency(np.ones((5, 4))) == pytest.approx(1.0)
    assert temporal_consistency(np.array([[1, 0], [0, 1], [1, 0]])) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="two windows"):
        temporal_consistency(np.ones((1, 4)))
    video_a = np.array([[1, 0.1], [1, 0.2], [1, 0.0]])
    video_b = np.array([[0.1, 1], [0.0, 1], [0.2, 1]])
    starts = [np.array([0, 16, 32]), np.array([0, 16, 32])]
    assert instance_discrimination([video_a, video_b], starts, length=16) == 1.0
    # windows at 8 overlap every other window of their video: they are not counted
    assert instance_discrimination([video_a, video_b], [np.array([0, 8, 16])] * 2, length=16) == 1.0
    assert instance_discrimination([video_a[:2], video_b[:2]], [np.array([0, 8])] * 2, length=16) is None


def test_perturbations_change_frames_as_described():
    frames = np.full((2, 8, 8, 3), 100, np.uint8)
    assert perturb_frames(frames, Perturbation("brightness", 0.2))[0, 0, 0, 0] == 120
    frames[:, :, 0] = 0
    shifted = perturb_frames(frames, Perturbation("shift", 2))
    assert shifted[0, 4, 2, 0] == 0 and shifted[0, 4, 0, 0] == 100  # column 0 moved to column 2
    assert perturb_frames(frames, Perturbation("flow_noise", 1.0)) is frames


def test_evaluator_report_on_motion_clips(tmp_path):
    extractor = DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random", sequence_length=9), inference=InferenceSection(precision="float32")))
    evaluator = FeatureExtractorEvaluator(extractor)
    motions = ("pan_left", "zoom_in", "static")
    specs = sample_clips(motions, [1, 2, 3], 1, seed=0)
    clips = [render_clip(spec, num_frames=10, size=224) for spec in specs]
    features = np.stack([evaluator.clip_features(c) for c in clips])
    labels = np.array([motions.index(s.motion) for s in specs])
    report = evaluator.evaluate(features, labels, motions, clips_for_stability=clips[:2])
    assert set(report["stability"]) == {"flow_noise_0.5", "brightness_0.2", "shift_3"}
    assert all(v < 0.99999 for v in report["stability"].values())  # each perturbation changes the features
    unchanged = evaluator.stability(clips[:2], [Perturbation("flow_noise", 0), Perturbation("brightness", 0),
                                                Perturbation("shift", 0)])
    assert unchanged == pytest.approx({"flow_noise_0": 1.0, "brightness_0": 1.0, "shift_0": 1.0}, abs=1e-5)
    noise = evaluator.stability(clips[:1], [Perturbation("flow_noise", 0.5), Perturbation("flow_noise", 8)])
    assert noise["flow_noise_8"] < noise["flow_noise_0.5"] < 1  # more noise, less similar features
    assert np.array(report["confusion_matrix"]).sum() == len(specs)
    path = write_report(report, tmp_path / "eval", features, labels)
    assert json.loads(path.read_text())["discriminability"]["knn1_accuracy"] == report["discriminability"]["knn1_accuracy"]
    for image in ("confusion_matrix.png", "projection.png"):
        assert imageio.imread(tmp_path / "eval" / image).shape[0] > 200
    mixed = [FeatureSet(name, features[:2], make_windows(name, 20, 25.0, 9, 8), 25.0, {"window_mode": mode})
             for name, mode in (("a", "exact"), ("b", "shared"))]
    with pytest.raises(FeatureSpaceError, match="window_mode"):
        evaluator.evaluate(features, labels, motions, videos=mixed)
    assert len(MOTIONS) == 10


def test_stability_is_measured_on_the_view_the_reported_features_come_from(tmp_path):
    """A folder's evaluation perturbs the first frames of its videos as extraction sees them (the
    config's fps, I3D's short side 256 and centre crop 224), so its unperturbed reference is the
    first window's stored features, not those of another scale."""
    video = make_demo_video(tmp_path / "demo.mp4", num_frames=14, fps=30.0, size=(400, 300))
    extractor = DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random", sequence_length=9), inference=InferenceSection(precision="float32"),
        flow=FlowSection(fps=25.0)))
    frames = first_frames(video, 10, extractor.config.flow.fps)
    assert frames.shape == (10, 224, 224, 3)
    extraction_frames = np.stack(list(islice(iter_frames(video, 25.0, I3D_FLOW_TRANSFORM), 10)))
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    assert np.abs(grey.astype(int) - extraction_frames).max() <= 1  # grey before or after the resize: rounding
    stored = extractor.extract_video(video).features[0].reshape(-1)
    reference = FeatureExtractorEvaluator(extractor, extractor.config.flow.method).clip_features(frames)
    assert cosine_to(reference[None], stored[None])[0] > 0.9999  # 0.9983 at short side 224
