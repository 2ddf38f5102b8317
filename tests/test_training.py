"""Fine-tuning on class folders: split by clip, early stopping, checkpoints, progress, registry."""

from __future__ import annotations

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


def test_fine_tune_saves_checkpoints_and_a_registry_version(dataset, tmp_path):
    extractor = small_extractor()
    before = extractor.model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0].copy()
    epochs = []
    result = fine_tune(extractor, dataset, tmp_path / "run", TrainingConfig(epochs=2, patience=5),
                       model_dir=tmp_path / "models", progress=lambda done, total: epochs.append((done, total)))
    assert epochs == [(1, 2), (2, 2)]
    assert sorted(p.name for p in result.checkpoint_dir.iterdir()) == ["epoch_01.weights.h5", "epoch_02.weights.h5"]
    assert not np.array_equal(before, extractor.model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0])
    metadata = ModelRegistry(tmp_path / "models", "dynamic_feature_extractor").metadata("latest")
    assert metadata["training_dataset"] == str(dataset)
    assert metadata["extra"]["classes"] == ["pan_left", "static", "zoom_in"]
    assert 0 <= metadata["metrics"]["val_accuracy"] <= 1 and metadata["metrics"]["epochs_run"] == 2


def test_unusable_datasets_are_clear_errors(dataset, tmp_path):
    with pytest.raises(DatasetError, match="at least two class folders"):
        load_labelled_clips(dataset / "static", small_extractor(), tmp_path)
    lonely = tmp_path / "lonely"
    write_motion_dataset(lonely, ("pan_left", "static"), [0], num_frames=10)
    data = load_labelled_clips(lonely, small_extractor(), tmp_path / "flow")
    with pytest.raises(DatasetError, match="at least two clips"):
        split_by_source(data, 0.25, 0)
