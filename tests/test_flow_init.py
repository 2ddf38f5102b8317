"""Flow-stream initialisation and adaptation: cross-modal kernels, AdaBN, upper-block training, the
camera-motion clips, and the measured quality of the shipped default (motion_curriculum) weights."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import converted_weights_dir, run_cli
from core.common.atomic import sha256_of
from core.errors import ConfigError
from core.features.config import ModelSection
from core.flow.computer import OpticalFlowComputer
from core.model.i3d import build_i3d
from core.training.adaptation import (MotionLosses, adapt_batchnorm, redraw_upper_blocks, shuffled_batches,
                                      stages_between, train_motion_heads, train_upper_blocks)
from core.training.contrastive import (layout_label_columns, motion_label_vectors, neighbour_preserving_loss,
                                      overlap_contrastive_loss, reference_descriptors)
from core.weights.flow_stream import (FIRST_CONV, build_flow_i3d, cross_modal_arrays, motion_adapted_metrics_path,
                                      motion_adapted_path)
from core.evaluation.metrics import knn_loo_accuracy
from core.training.motion_dataset import MOTIONS, clip_flow, render_clip, sample_clips
from core.weights.kinetics import WeightsError, assign_weights


def test_the_default_weights_are_the_shipped_motion_curriculum_on_the_flow_they_were_trained_on():
    from core.features.config import DEFAULT_MODEL_CONFIG, FlowSection, load_config
    from core.training.recipe import CurriculumRecipe
    shipped = load_config(DEFAULT_MODEL_CONFIG)
    assert ModelSection().weights == "motion_curriculum" == shipped.model.weights
    assert FlowSection().method == CurriculumRecipe().flow_methods[0] == shipped.flow.method == "dis"


def first_conv(swap_xy: bool) -> keras.layers.Layer:
    """The flow stream's first conv, initialised cross-modally from a random RGB I3D."""
    keras.utils.set_random_seed(3)
    rgb = build_i3d(channels=3, final_endpoint="Conv3d_1a_7x7", size=None)
    flow = build_i3d(channels=2, final_endpoint="Conv3d_1a_7x7", size=None)
    assign_weights(flow, cross_modal_arrays(rgb, swap_xy=swap_xy))
    return flow.get_layer(FIRST_CONV)


def respond(conv: keras.layers.Layer, flow: np.ndarray) -> np.ndarray:
    """The conv's output `[T', H', W', 64]` for one flow clip `[T, H, W, 2]` (dx, dy)."""
    return np.asarray(conv(flow[None].astype(np.float32)))[0]


def swap_x_and_y(flow: np.ndarray) -> np.ndarray:
    """The same motion with the x and y axes exchanged: image transposed, (dx, dy) -> (dy, dx)."""
    return np.transpose(flow, (0, 2, 1, 3))[..., ::-1]


def test_xy_cross_modal_init_answers_a_swap_of_x_and_y_with_the_transposed_response():
    flow = np.random.default_rng(0).normal(0, 2, (9, 32, 32, 2))
    xy, plain = first_conv(swap_xy=True), first_conv(swap_xy=False)
    response = respond(xy, flow)
    np.testing.assert_allclose(respond(xy, swap_x_and_y(flow)), np.transpose(response, (0, 2, 1, 3)),
                               rtol=1e-4, atol=1e-4 * np.abs(response).max())
    # the plain repeat has no such symmetry: it only sees dx + dy, so a patch moving right and the
    # same patch moving down look alike to it, while the xy kernel tells them apart
    plain_response = respond(plain, flow)
    assert np.abs(respond(plain, swap_x_and_y(flow)) - np.transpose(plain_response, (0, 2, 1, 3))).max() > \
        0.1 * np.abs(plain_response).max()
    right, down = np.zeros((9, 32, 32, 2)), np.zeros((9, 32, 32, 2))
    right[:, 10:20, 8:24, 0] = 1.0
    down[:, 10:20, 8:24, 1] = 1.0
    np.testing.assert_allclose(respond(plain, right), respond(plain, down), rtol=1e-6)
    difference = np.abs(respond(xy, right) - respond(xy, down))
    assert difference[:, 4:12, 4:12].max() > 0.1 * np.abs(respond(xy, right)).max()  # inside, not at the border


def test_unknown_or_missing_sources_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="unknown flow weights"):
        build_flow_i3d("imagenet")
    with pytest.raises(WeightsError, match="weights motion-adapted"):
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


def test_training_batches_come_in_a_seeded_new_order_each_epoch_from_the_activations_themselves():
    activations = np.arange(10, dtype=np.float32).reshape(10, 1, 1) * np.ones((1, 2, 3), np.float32)
    labels = {"camera": np.arange(10) + 100}
    batches = shuffled_batches(activations, labels, batch_size=4, seed=5)
    epochs = [[(inputs.numpy(), targets["camera"].numpy()) for inputs, targets in batches] for _ in range(2)]
    for epoch in epochs:
        assert [len(targets) for _, targets in epoch] == [4, 4, 2]
        order = np.concatenate([targets for _, targets in epoch]) - 100
        assert sorted(order) == list(range(10))
        for inputs, targets in epoch:  # each clip's activations beside its own labels
            np.testing.assert_array_equal(inputs[:, 0, 0], targets - 100)
    orders = [np.concatenate([targets for _, targets in epoch]) for epoch in epochs]
    assert not np.array_equal(*orders)  # reshuffled
    again = shuffled_batches(activations, labels, batch_size=4, seed=5)
    np.testing.assert_array_equal(np.concatenate([t["camera"].numpy() for _, t in again]), orders[0])
    activations[:] = -1  # the dataset gathers from this array: it keeps no copy of it
    assert all((inputs.numpy() == -1).all() for inputs, _ in again)


def test_redrawn_upper_blocks_start_from_a_seeded_random_init_with_statistics_of_their_input():
    """The blocks after the boundary drawn again (one seed, one draw; the blocks before untouched),
    then AdaBN on the first clips' activations only: Mixed_5b's first BatchNorm holds the mean over
    batches of its 1x1 convolution's output statistics, computed here with numpy."""
    conv, norm = "Mixed_5b_Branch_0_Conv3d_0a_1x1_conv", "Mixed_5b_Branch_0_Conv3d_0a_1x1_bn"
    activations = np.random.default_rng(0).uniform(0, 1, (12, 2, 7, 7, 832)).astype(np.float32)
    activations[8:] += 50.0  # past adabn_clips: must not reach the statistics
    models = [build_flow_i3d("random", seed=1, size=None) for _ in range(2)]
    lower_before = models[0].get_layer("Mixed_4f_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0].copy()
    upper_before = models[0].get_layer(conv).get_weights()[0].copy()
    for model in models:
        redraw_upper_blocks(model, "MaxPool3d_5a_2x2", activations, seed=5, adabn_clips=8, batch_size=4)
    np.testing.assert_array_equal(models[0].get_layer("Mixed_4f_Branch_0_Conv3d_0a_1x1_conv").get_weights()[0],
                                  lower_before)
    kernel = models[0].get_layer(conv).get_weights()[0]
    assert not np.array_equal(kernel, upper_before)
    for name in (conv, "Mixed_5c_Branch_3_Conv3d_0b_1x1_conv"):
        first, second = (model.get_layer(name).get_weights()[0] for model in models)
        np.testing.assert_array_equal(second, first)
    outputs = [activations[i:i + 4].reshape(-1, 832) @ kernel.reshape(832, -1) for i in (0, 4)]  # two batches
    beta, moving_mean, moving_variance = models[0].get_layer(norm).get_weights()
    np.testing.assert_array_equal(beta, 0.0)
    np.testing.assert_allclose(moving_mean, np.mean([o.mean(0) for o in outputs], 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(moving_variance, np.mean([o.var(0) for o in outputs], 0), rtol=1e-3)


def test_the_layout_head_learns_targets_of_any_scale():
    """A third head regresses layout targets standardised per column: columns a million apart in
    scale start near unit loss (raw, the loss would start near 1e5), and the loss falls."""
    model = build_flow_i3d("random", seed=1, size=None)
    activations = np.random.default_rng(0).uniform(0, 1, (16, 2, 7, 7, 832)).astype(np.float32)
    signal = activations[:, :, :, :, :3].mean(axis=(1, 2, 3))  # [16, 3], learnable from the input
    layout = signal * np.array([1e-3, 1.0, 1e3], np.float32)
    history = train_motion_heads(model, activations, np.arange(16) % 2, (np.arange(16)[:, None] % 3 == [0, 1, 2]),
                                 boundary="Mixed_5b", epochs=8, batch_size=4,
                                 losses=MotionLosses(regressions={"layout": (layout, 1.0)}))
    assert history["layout_loss"][0] < 10
    assert np.mean(history["layout_loss"][-3:]) < 0.5 * history["layout_loss"][0], history["layout_loss"]
    no_layout = train_motion_heads(model, activations, np.arange(16) % 2, np.zeros((16, 3)), boundary="Mixed_5b",
                                   epochs=1)
    assert "layout_loss" not in no_layout


def test_the_contrastive_loss_pulls_each_clip_towards_the_clips_sharing_its_motion():
    """The loss against a loop over anchors written from its definition: the softmax over the other
    clips of cosine / temperature, against their label overlaps (sum of minima / sum of maxima)
    normalised per anchor; an anchor sharing nothing adds 0."""
    labels = motion_label_vectors(np.array([0, 0, 1, 2]), np.array([[1, 0], [1, 0], [0, 1], [0, 0]]), 3)
    np.testing.assert_array_equal(labels[1], [1, 0, 0, 1, 0])  # camera one-hot, then the object targets
    labels[3] = [0, 0, 0, 0, 0.5]  # shares the second object motion with clip 2, by half: overlap 1/4
    embeddings = keras.ops.normalize(np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)).numpy()
    expected = []
    for anchor in range(4):
        others = [j for j in range(4) if j != anchor]
        logits = np.array([embeddings[anchor] @ embeddings[j] / 0.1 for j in others])
        log_softmax = logits - np.log(np.exp(logits).sum())
        overlaps = np.array([np.minimum(labels[anchor], labels[j]).sum() / np.maximum(labels[anchor], labels[j]).sum()
                             for j in others])
        expected.append(-(overlaps / overlaps.sum() * log_softmax).sum() if overlaps.sum() else 0.0)
    assert expected[3] != 0.0 and expected[0] != 0.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(overlap_contrastive_loss(0.1)(labels, embeddings)), expected,
                               rtol=1e-5)
    lone = labels.copy()
    lone[3] = 0.0
    assert keras.ops.convert_to_numpy(overlap_contrastive_loss(0.1)(lone, embeddings))[3] == 0.0


def test_the_contrastive_head_trains_the_features_themselves():
    """With a contrastive weight, the Features (unit length; or a projection head of them) are trained
    to put clips of shared labels nearest: the loss falls, and leave-one-out 1-NN of the Features by
    label rises from chance. The projection head is trained with them: the Features end elsewhere than
    with the loss on them directly, from the same start and seed."""
    activations = np.random.default_rng(0).uniform(0, 1, (16, 2, 7, 7, 832)).astype(np.float32)
    camera = np.arange(16) % 4
    ends = {}
    for width in (0, 32):
        model = build_flow_i3d("random", seed=1, size=None)
        def features():
            return np.asarray(stages_between(model, "Mixed_5b", "Features")(activations, training=False))
        assert knn_loo_accuracy(features(), camera, 1) <= 0.5
        history = train_motion_heads(model, activations, camera, np.zeros((16, 1)), boundary="Mixed_5b", epochs=8,
                                     batch_size=16,
                                     losses=MotionLosses(contrastive_weight=1.0, contrastive_projection=width))
        assert np.mean(history["embedding_loss"][-3:]) < 0.7 * history["embedding_loss"][0], history["embedding_loss"]
        ends[width] = features()
        assert knn_loo_accuracy(ends[width], camera, 1) == 1.0
    assert np.abs(ends[32] - ends[0]).max() > 1e-2


def test_extra_contrastive_label_columns_group_the_features_by_them():
    """Label columns beside the camera and object labels (`contrastive_extra`) reach the loss: 16
    clips of two camera motions and no object motion, each camera's 8 told apart only by which of 4
    directions their extra column holds, end with each clip's nearest neighbour in the Features of
    its direction; trained the same way without the columns, they do not."""
    activations = np.random.default_rng(0).uniform(0, 1, (16, 2, 7, 7, 832)).astype(np.float32)
    camera, direction = np.arange(16) // 8, np.arange(16) % 4
    scores = {}
    for extra in (None, np.eye(4, dtype=np.float32)[direction]):
        model = build_flow_i3d("random", seed=1, size=None)
        train_motion_heads(model, activations, camera, np.zeros((16, 1)), boundary="Mixed_5b", epochs=8, batch_size=16,
                           losses=MotionLosses(contrastive_weight=1.0, contrastive_extra=extra))
        features = np.asarray(stages_between(model, "Mixed_5b", "Features")(activations, training=False))
        scores["with" if extra is not None else "without"] = knn_loo_accuracy(features, direction, 1)
    assert scores["with"] == 1.0 and scores["without"] <= 0.5, scores


def test_layout_label_columns_weigh_the_median_clip_as_asked():
    """Strongest-region layouts scaled so the median clip's columns sum to the weight: a still clip
    stays 0, a clip moving twice as fast weighs twice; negative (unrectified) flow is refused."""
    layouts = np.array([[0, 0, 0, 0], [1, 0, 0, 1], [2, 0, 2, 0], [0, 4, 0, 0], [1, 0, 0, 0]], np.float32)
    columns = layout_label_columns(layouts, 1.5)  # per-clip sums 0, 2, 4, 4, 1: the median 2
    np.testing.assert_allclose(columns, layouts * 0.75)
    np.testing.assert_allclose(np.median(columns.sum(axis=1)), 1.5)
    with pytest.raises(ConfigError, match="nonnegative"):
        layout_label_columns(-layouts, 1.0)


def test_the_neighbour_preserving_loss_pulls_each_clip_towards_its_reference_neighbours():
    """The loss against a loop over anchors written from its definition: the cross-entropy of the
    softmax over the other clips of cosine / temperature in the embeddings against the same softmax
    in the reference; it is smallest when the embeddings are the reference. The reference: activations
    mean-pooled, centred over the clips, unit rows."""
    rng = np.random.default_rng(0)
    reference = keras.ops.normalize(rng.normal(size=(5, 3)).astype(np.float32)).numpy()
    embeddings = keras.ops.normalize(rng.normal(size=(5, 6)).astype(np.float32)).numpy()
    def softmax_over_others(rows, anchor):
        logits = np.array([rows[anchor] @ rows[j] / 0.1 for j in range(5) if j != anchor])
        return np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    expected = [-(softmax_over_others(reference, a) * np.log(softmax_over_others(embeddings, a))).sum()
                for a in range(5)]
    loss = neighbour_preserving_loss(0.1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss(reference, embeddings)), expected, rtol=1e-5)
    padded = np.concatenate([reference, np.zeros((5, 3), np.float32)], axis=1)  # the same rows in 6 dimensions
    assert np.all(keras.ops.convert_to_numpy(loss(reference, padded)) < expected)
    activations = np.zeros((3, 2, 2, 2, 2), np.float32)
    activations[..., 0] = np.array([1.0, 2.0, 3.0])[:, None, None, None]  # channel 0 varies, channel 1 is 0
    activations[0, 0, 0, 0, 1] = 8.0  # clip 0: channel 1's mean is 1
    centred = np.array([[-1, 2 / 3], [0, -1 / 3], [1, -1 / 3]])  # channel means less their mean over the clips
    np.testing.assert_allclose(reference_descriptors(activations), centred / np.linalg.norm(centred, axis=1)[:, None],
                               rtol=1e-6)


# One camera class: its head asks nothing (and Keras warns of a softmax over one class).
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")
def test_the_neighbour_loss_trains_the_features_towards_their_inputs_neighbours():
    """With a neighbour weight alone (no label asks for anything), the Features' softmax over the
    other clips moves towards their input's: the KL divergence between the two, over the batch,
    halves at least."""
    model = build_flow_i3d("random", seed=1, size=None)
    rng = np.random.default_rng(0)
    patterns = rng.uniform(0, 1, (4, 1, 1, 1, 832))  # four groups of clips: each other's neighbours in the input
    activations = (patterns[np.arange(16) % 4] + rng.uniform(0, 1, (16, 2, 7, 7, 832))).astype(np.float32)
    reference = reference_descriptors(activations)
    loss = neighbour_preserving_loss(0.1)
    floor = float(np.mean(keras.ops.convert_to_numpy(loss(reference, reference))))  # the reference's own entropy
    def divergence():
        features = np.asarray(stages_between(model, "Mixed_5b", "Features")(activations, training=False))
        unit = keras.ops.normalize(features).numpy()
        return float(np.mean(keras.ops.convert_to_numpy(loss(reference, unit)))) - floor
    before = divergence()
    history = train_motion_heads(model, activations, np.zeros(16, int), np.zeros((16, 1)), boundary="Mixed_5b",
                                 epochs=8, batch_size=16, losses=MotionLosses(neighbour_weight=1.0))
    assert "neighbours_loss" in history and "embedding_loss" not in history
    assert divergence() < 0.5 * before, (before, divergence())


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


def weights_command(action: str, weights_dir: Path, model_dir: Path) -> str:
    """`python -m core weights ACTION` with these folders; returns its output (the run must succeed)."""
    done = run_cli("weights", action, env={"DFE_WEIGHTS_DIR": str(weights_dir), "DFE_MODEL_DIR": str(model_dir)})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_made_motion_adapted_is_registered_once_as_a_version_beside_the_shipped_default(tmp_path, monkeypatch):
    """Where motion_adapted was made (`weights motion-adapted`, or set-up before it stopped making it),
    `weights prepare` registers it as a version with its metrics, the alias on the shipped default;
    `weights motion-adapted` then finds its verified file (no training) and that version. (That set-up
    itself makes no motion_adapted weights: test_deployment's serve test.)"""
    from core.cli.weights import motion_adapted, register_flow_model
    from core.errors import DFEError
    from core.registry.versions import ModelRegistry
    from core.weights.flow_stream import MOTION_CURRICULUM_PATH
    from core.weights.kinetics import save_weights_with_checksum
    from core.weights.packed import read_packed_metadata
    weights_dir, model_dir = converted_weights_dir(tmp_path / "weights"), tmp_path / "models"
    save_weights_with_checksum(build_flow_i3d("random", seed=5), motion_adapted_path(weights_dir))
    motion_adapted_metrics_path(weights_dir).write_text(json.dumps({"eval_knn1_accuracy": 0.625}))
    weights_command("prepare", weights_dir, model_dir)
    registry = ModelRegistry(model_dir, "dynamic_feature_extractor")
    default = registry.resolve("default")
    [adapted] = [v for v in registry.versions() if v != default]
    new, old = registry.metadata(default), registry.metadata(adapted)
    default_sha256, adapted_sha256 = sha256_of(MOTION_CURRICULUM_PATH), sha256_of(motion_adapted_path(weights_dir))
    assert new["weights_source"] == "motion_curriculum" and new["extra"]["weights_sha256"] == default_sha256
    assert new["metrics"]["eval_object_knn1_accuracy"] == \
        read_packed_metadata(MOTION_CURRICULUM_PATH)["eval_knn1_accuracy"]["object"]
    assert old["weights_source"] == "motion_adapted" and "motion_adapted" in old["tags"]
    assert old["metrics"]["eval_knn1_accuracy"] == 0.625 and old["extra"]["weights_sha256"] == adapted_sha256

    assert f"registered as {adapted}" in weights_command("motion-adapted", weights_dir, model_dir)
    assert sha256_of(motion_adapted_path(weights_dir)) == adapted_sha256  # not made again
    monkeypatch.setenv("DFE_MODEL_DIR", str(model_dir))
    assert register_flow_model("motion_curriculum", default_sha256, alias="default") == default
    assert registry.aliases() == {"default": default} and len(registry.versions()) == 2
    with pytest.raises(DFEError, match="set DFE_WEIGHTS_DIR instead of --weights_dir"):  # not silently elsewhere
        motion_adapted(argparse.Namespace(weights_dir=str(tmp_path / "elsewhere"), force=False))


def test_the_shipped_default_tells_apart_object_motions_random_init_confuses():
    """The shipped weights load (sha256 checked) and, on textures no training used, put clips of an object
    growing, shrinking or turning either way together, where a random I3D does not: leave-one-out 1-NN
    over 4 motions x 6 scenes (measured: the default 24 of 24, more clips 24, strongest region 23,
    contrastive 2 21, random init 7; on the first 2 scenes alone, 8 clips where one clip moves the
    result by 0.125, the default 8, more clips 5, strongest region 4, random init 1)."""
    from core.training.adaptation import clip_features, stack_preprocessed
    from core.training.curriculum import CurriculumSampler, ImageSource, iter_curriculum_flows

    sampler = CurriculumSampler([], seed=21, photometric=False)
    motions = ("grow", "shrink", "turn_cw", "turn_ccw")
    clips = [sampler.clip("object", "static", [m], ImageSource("texture", str(900 + scene)))
             for scene in range(6) for m in motions]
    inputs = stack_preprocessed(iter_curriculum_flows(clips, OpticalFlowComputer("dis", workers=1)), len(clips))
    default, random = (knn_loo_accuracy(clip_features(build_flow_i3d(weights), inputs), np.arange(24) % 4)
                       for weights in ("motion_curriculum", "random"))
    assert default >= random + 0.5, (default, random)


def test_the_shipped_default_tells_camera_motions_apart():
    """On textures no training used, clips of the camera moving the same way (pans, zooms, turns, each
    over 2 scenes) are nearest each other: leave-one-out 1-NN over 6 camera motions."""
    from core.training.adaptation import clip_features, stack_preprocessed
    from core.training.curriculum import CurriculumSampler, ImageSource, iter_curriculum_flows

    sampler = CurriculumSampler([], seed=22, photometric=False)
    motions = ("pan_left", "pan_right", "zoom_in", "zoom_out", "rotate_cw", "rotate_ccw")
    clips = [sampler.clip("camera", motion, [], ImageSource("texture", str(950 + scene)))
             for scene in range(2) for motion in motions]
    inputs = stack_preprocessed(iter_curriculum_flows(clips, OpticalFlowComputer("dis", workers=1)), len(clips))
    reports = []
    features = clip_features(build_flow_i3d("motion_curriculum"), inputs, progress=lambda *done: reports.append(done))
    assert knn_loo_accuracy(features, np.arange(12) % 6) == 1.0
    assert reports == [(4, 12), (8, 12), (12, 12)]  # clips done, in batches of 4
