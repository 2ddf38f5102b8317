"""Flow-stream initialisation and adaptation: cross-modal kernels, AdaBN, upper-block training, the
camera-motion clips, and the measured quality of the default (motion_adapted) weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.features.config import ModelSection
from core.flow.computer import OpticalFlowComputer
from core.training.adaptation import adapt_batchnorm, train_upper_blocks
from core.weights.flow_stream import (build_flow_i3d, cross_modal_arrays, motion_adapted_path,
                            read_motion_adapted_metrics)
from core.evaluation.metrics import knn_loo_accuracy
from core.training.motion_dataset import MOTIONS, clip_flow, render_clip, sample_clips
from core.weights.kinetics import WeightsError, kinetics400_rgb_model


def test_default_weights_are_the_measured_best_and_reach_095_on_unseen_scenes():
    assert ModelSection().weights == "motion_adapted"
    assert motion_adapted_path().exists(), "set-up (python -m core weights prepare) makes these weights"
    metrics = read_motion_adapted_metrics()
    assert metrics["eval_scenes_unseen"] and metrics["eval_clips"] >= 80
    assert metrics["eval_knn1_accuracy"] >= 0.95


def test_xy_cross_modal_kernel_sees_both_directions():
    rgb = kinetics400_rgb_model()
    plain = cross_modal_arrays(rgb)["Conv3d_1a_7x7_conv"][0]
    xy = cross_modal_arrays(rgb, swap_xy=True)["Conv3d_1a_7x7_conv"][0]
    np.testing.assert_array_equal(xy[..., 0, :], plain[..., 0, :])
    np.testing.assert_array_equal(xy[..., 1, :], np.transpose(plain[..., 0, :], (0, 2, 1, 3)))


def test_unknown_or_missing_sources_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="unknown flow weights"):
        build_flow_i3d("imagenet")
    with pytest.raises(WeightsError, match="weights prepare"):
        build_flow_i3d("motion_adapted", weights_dir=tmp_path)
    with pytest.raises(WeightsError, match="needs weights_path"):
        build_flow_i3d("checkpoint")


def test_adabn_sets_moving_statistics_to_the_mean_over_batches():
    inputs = keras.Input((3,))
    norm = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inputs, norm(inputs))
    batches = [np.random.default_rng(i).normal(i, 1 + i, (32, 3)).astype(np.float32) for i in range(3)]
    assert adapt_batchnorm(model, batches) == 3
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.numpy(), np.mean([b.var(0) for b in batches], 0), rtol=1e-4)
    assert norm.momentum == 0.99


def test_upper_block_training_changes_only_the_upper_blocks():
    model = build_flow_i3d("random", seed=1, size=None)
    lower_before = model.get_layer("Mixed_4f_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0].copy()
    upper_before = model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0].copy()
    activations = np.random.default_rng(0).uniform(0, 1, (8, 2, 7, 7, 832)).astype(np.float32)
    history = train_upper_blocks(model, activations, np.arange(8) % 2, num_classes=2, epochs=1, batch_size=4)
    assert len(history["loss"]) == 1
    np.testing.assert_array_equal(model.get_layer("Mixed_4f_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0],
                                  lower_before)
    assert not np.array_equal(model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0],
                              upper_before)


def test_motion_clips_move_the_way_their_label_says():
    clips = {c.motion: c for c in sample_clips(MOTIONS, [5], 1, seed=0)}
    computer = OpticalFlowComputer("dis", workers=1)
    assert render_clip(clips["pan_left"], num_frames=5, size=96).shape == (5, 96, 96, 3)
    mean_flow = {m: clip_flow(clips[m], computer, num_frames=4, size=96)[:, 16:-16, 16:-16].mean((0, 1, 2))
                 for m in ("pan_left", "pan_up", "static")}
    assert mean_flow["pan_left"][0] > 0.5 and abs(mean_flow["pan_left"][1]) < 0.3  # content moves right
    assert mean_flow["pan_up"][1] > 0.5  # the camera goes up, content moves down
    assert np.abs(mean_flow["static"]).max() < 0.2
    zoom = clip_flow(clips["zoom_in"], computer, num_frames=3, size=96)[0]
    assert zoom[48, 88, 0] > 0.3 and zoom[48, 8, 0] < -0.3  # zooming in: content flows outwards
    assert sample_clips(MOTIONS, [1, 2], 2, seed=4) == sample_clips(MOTIONS, [1, 2], 2, seed=4)


def test_knn_leave_one_out_accuracy():
    features = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 0.05]])
    assert knn_loo_accuracy(features, np.array([0, 0, 1, 1, 0])) == 1.0
    assert knn_loo_accuracy(features, np.array([0, 1, 1, 0, 0])) == pytest.approx(0.4)  # rows 0 and 4 right
    with pytest.raises(ValueError, match="more than k"):
        knn_loo_accuracy(features[:1], np.array([0]))


def test_set_up_registers_the_default_model_with_its_metrics():
    from core.registry.versions import ModelRegistry
    from core.app.settings import load_settings
    registry = ModelRegistry(load_settings().model_dir, "dynamic_feature_extractor")
    metadata = registry.metadata("default")
    assert metadata["weights_source"] == "motion_adapted" and "motion_adapted" in metadata["tags"]
    assert metadata["metrics"]["eval_knn1_accuracy"] >= 0.95
    assert metadata["extra"]["adaptation"]["eval_scenes_unseen"] is True
