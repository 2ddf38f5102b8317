"""Fine-tuning on class folders: split by clip, early stopping, checkpoints, progress, registry."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.registry.versions import ModelRegistry
from core.training.motion_dataset import write_motion_dataset
from core.features.folders import DatasetError
from core.training.fine_tune import TrainingConfig, fine_tune, load_labelled_clips, split_by_source


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("motions")
    write_motion_dataset(root, ("pan_left", "zoom_in", "static"), range(3), num_frames=10, size=224)
    return root


@pytest.fixture(scope="module")
def one_clip_everywhere(dataset, tmp_path_factory):
    """Three class folders holding the same video twice each: no model can tell the classes apart."""
    root = tmp_path_factory.mktemp("same_clip")
    clip = sorted((dataset / "pan_left").iterdir())[0]
    for name in ("pan_left", "static", "zoom_in"):
        (root / name).mkdir()
        for copy in ("first", "second"):
            shutil.copy(clip, root / name / f"{copy}.mp4")
    return root


def small_extractor() -> DynamicFeatureExtractor:
    return DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random", sequence_length=9), inference=InferenceSection(precision="float32"),
        flow=FlowSection(method="dis")))


def test_windows_are_labelled_by_folder_and_split_by_clip(dataset, tmp_path):
    data = load_labelled_clips(dataset, small_extractor(), tmp_path / "flow")
    assert data.class_names == ["pan_left", "static", "zoom_in"]
    assert data.clips.shape == (9, 9, 224, 224, 2) and list(np.bincount(data.labels)) == [3, 3, 3]
    train, validation = split_by_source(data, 0.34, seed=0)
    assert not set(data.sources[train]) & set(data.sources[validation])
    assert set(data.labels[validation]) == {0, 1, 2}


def test_fine_tune_saves_checkpoints_and_a_registry_version(one_clip_everywhere, tmp_path):
    extractor = small_extractor()
    before = extractor.model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0].copy()
    epochs = []
    result = fine_tune(extractor, one_clip_everywhere, tmp_path / "run", TrainingConfig(epochs=2, patience=5),
                       model_dir=tmp_path / "models", progress=lambda done, total: epochs.append((done, total)))
    assert epochs == [(1, 2), (2, 2)]
    assert sorted(p.name for p in result.checkpoint_dir.iterdir()) == ["epoch_01.weights.h5", "epoch_02.weights.h5"]
    assert not np.array_equal(before, extractor.model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0])
    metadata = ModelRegistry(tmp_path / "models", "dynamic_feature_extractor").metadata("latest")
    assert metadata["training_dataset"] == str(one_clip_everywhere)
    assert metadata["extra"]["classes"] == ["pan_left", "static", "zoom_in"]
    # one window per clip, one clip per class held out; every window is the same, so the three
    # validation windows get one and the same prediction, right for exactly one of them
    assert metadata["metrics"] == result.metrics
    assert {k: result.metrics[k] for k in ("train_windows", "val_windows", "epochs_run")} == \
        {"train_windows": 3, "val_windows": 3, "epochs_run": 2}
    assert result.metrics["val_accuracy"] == pytest.approx(1 / 3)
    assert "val_knn1_accuracy" not in result.metrics  # only measured on more than 5 validation windows


def test_unusable_datasets_are_clear_errors(dataset, tmp_path):
    with pytest.raises(DatasetError, match="at least two class folders"):
        load_labelled_clips(dataset / "static", small_extractor(), tmp_path)
    lonely = tmp_path / "lonely"
    write_motion_dataset(lonely, ("pan_left", "static"), [0], num_frames=10)
    data = load_labelled_clips(lonely, small_extractor(), tmp_path / "flow")
    with pytest.raises(DatasetError, match="at least two clips"):
        split_by_source(data, 0.25, 0)


@pytest.fixture(scope="module")
def crossed(dataset, tmp_path_factory):
    """Two classes, each with a panning clip and a still clip, named so that the clip held out of
    each class (seed 0) has the content the other class trains on: fitting the training windows
    makes the validation loss worse, epoch after epoch."""
    root = tmp_path_factory.mktemp("crossed")
    pan, still = (sorted((dataset / motion).iterdir())[0] for motion in ("pan_left", "static"))
    for name, clips in (("a", (pan, still)), ("b", (still, pan))):
        (root / name).mkdir()
        for number, clip in enumerate(clips):
            shutil.copy(clip, root / name / f"clip{number}.mp4")
    return root


def test_early_stopping_ends_training_when_the_validation_loss_stops_improving(crossed, tmp_path):
    extractor = small_extractor()
    data = load_labelled_clips(crossed, extractor, tmp_path / "flow")
    train, validation = split_by_source(data, 0.25, seed=0)
    held_out = {data.source_names[s].rsplit("/", 1)[-1] for s in data.sources[validation]}
    assert len(held_out) == 1  # the same number in both classes: the other class's training content
    result = fine_tune(extractor, crossed, tmp_path / "run", TrainingConfig(epochs=12, patience=2,
                                                                           learning_rate=1e-2))
    losses = result.history["val_loss"]
    assert result.metrics["epochs_run"] == len(losses) < 12
    best = int(np.argmin(losses))
    assert len(losses) == best + 1 + 2  # stopped exactly `patience` epochs after the best one
