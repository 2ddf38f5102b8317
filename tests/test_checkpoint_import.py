"""Importing I3D checkpoints in DeepMind's, pytorch-i3d's and video_features' naming.

DeepMind checkpoints are real TF1 checkpoints with exactly the variable names and shapes of DeepMind's
published ones (the layouts in the shared data folder), filled with seeded random values. PyTorch state
dicts carry the names of piergiaj/pytorch-i3d `pytorch_i3d.py` and v-iashin/video_features
`i3d_net.py` and are written by `torch_zip` in the formats of `torch.save`.

Checked once outside the project with torch 2.13.0 in a side environment: `read_checkpoint` reads
files written by `torch.save` (zip and legacy) exactly, non-contiguous and offset tensors included;
state dicts of the real pytorch-i3d and video_features models (random weights, gamma != 1) imported
here give logits within 2e-7 of the PyTorch models' own; `torch.load` reads what `torch_zip` writes.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import SHARED_DATA
from core.weights.checkpoint import (deepmind_to_arrays, detect_scheme, load_checkpoint_arrays, num_classes,
                                    pytorch_i3d_to_arrays, read_checkpoint)
from core.model.i3d import build_i3d, endpoint_model, layer_name, unit_paths
from core.weights.kinetics import WeightsError, assign_weights
from torch_zip import write_torch_file

LAYOUTS = SHARED_DATA / "i3d_checkpoint_layouts"
# (layout file, variable prefix, input channels, classes)
DEEPMIND = {"flow_imagenet": ("deepmind_flow_imagenet.vars.txt", "Flow/inception_i3d/", 2, 400),
            "rgb_imagenet": ("deepmind_rgb_imagenet.vars.txt", "RGB/inception_i3d/", 3, 400),
            "rgb_scratch_kin600": ("deepmind_rgb_scratch_kin600.vars.txt", "", 3, 600)}
# Each Mixed branch's submodule in the PyTorch ports, from their sources.
PYTORCH_I3D_BRANCHES = {"Branch_0/Conv3d_0a_1x1": "b0", "Branch_1/Conv3d_0a_1x1": "b1a",
                        "Branch_1/Conv3d_0b_3x3": "b1b", "Branch_2/Conv3d_0a_1x1": "b2a",
                        "Branch_2/Conv3d_0b_3x3": "b2b", "Branch_3/Conv3d_0b_1x1": "b3b"}
VIDEO_FEATURES_BRANCHES = {"Branch_0/Conv3d_0a_1x1": "branch_0", "Branch_1/Conv3d_0a_1x1": "branch_1.0",
                           "Branch_1/Conv3d_0b_3x3": "branch_1.1", "Branch_2/Conv3d_0a_1x1": "branch_2.0",
                           "Branch_2/Conv3d_0b_3x3": "branch_2.1", "Branch_3/Conv3d_0b_1x1": "branch_3.1"}


def read_layout(name: str) -> dict[str, tuple[int, ...]]:
    """{variable name: shape} from a layout file's lines `name float32 [d0, d1, ...]`."""
    path = LAYOUTS / DEEPMIND[name][0]
    if not path.is_file():
        pytest.skip(f"DeepMind checkpoint layouts not found at {LAYOUTS}")
    layout = {}
    for line in path.read_text().splitlines():
        variable, dtype, shape = line.split(" ", 2)
        assert dtype == "float32"
        layout[variable] = tuple(int(d) for d in shape.strip("[]").split(","))
    return layout


def random_variables(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape, dtype=np.float32) for name, shape in shapes.items()}


def write_tf_checkpoint(prefix: Path, variables: dict[str, np.ndarray]) -> Path:
    """A TF1 (V2 format) checkpoint `prefix.index` + `prefix.data-00000-of-00001` with exactly these names."""
    names = list(variables)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[variables[name] for name in names])
    return prefix


@pytest.fixture(scope="module")
def flow_model():
    """A flow I3D of any frame size; every test assigns all of its weights."""
    return build_i3d(channels=2, size=None)


def conv_shapes(model) -> dict[str, tuple[int, ...]]:
    """{unit path: Keras kernel shape [t, h, w, in, out]} for every Unit3D, and the logits."""
    paths = [path for path, _, _ in unit_paths()] + ["Logits/Conv3d_0c_1x1"]
    return {path: tuple(model.get_layer(layer_name(path, "conv")).kernel.shape) for path in paths}


def torch_state_dict(model, module_name, branches: dict[str, str], bn: str, logits: str,
                     seed: int) -> dict[str, np.ndarray]:
    """A PyTorch port's state dict for `model`'s shapes: kernels `[out, in, t, h, w]`, BatchNorm
    gamma in [-1.5, 1.5] (some negative), running_var in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    state = {}
    for path, shape in conv_shapes(model).items():
        if path.startswith("Logits"):
            continue
        block, _, branch = path.partition("/")
        module = f"{module_name(block)}.{branches[branch]}" if branch else module_name(block)
        out = shape[-1]
        state[f"{module}.conv3d.weight"] = rng.standard_normal((out, shape[3], *shape[:3]), dtype=np.float32)
        state[f"{module}.{bn}.weight"] = rng.uniform(-1.5, 1.5, out).astype(np.float32)
        state[f"{module}.{bn}.bias"] = rng.standard_normal(out, dtype=np.float32)
        state[f"{module}.{bn}.running_mean"] = rng.standard_normal(out, dtype=np.float32)
        state[f"{module}.{bn}.running_var"] = rng.uniform(0.5, 1.5, out).astype(np.float32)
        state[f"{module}.{bn}.num_batches_tracked"] = np.array(1000, np.int64)
    state[f"{logits}.conv3d.weight"] = rng.standard_normal((400, 1024, 1, 1, 1), dtype=np.float32)
    state[f"{logits}.conv3d.bias"] = rng.standard_normal(400, dtype=np.float32)
    return state


@pytest.fixture(scope="module")
def pytorch_i3d_state(flow_model):
    return torch_state_dict(flow_model, str, PYTORCH_I3D_BRANCHES, "bn", "logits", seed=1)


@pytest.fixture(scope="module")
def video_features_state(flow_model):
    return torch_state_dict(flow_model, str.lower, VIDEO_FEATURES_BRANCHES, "batch3d", "conv3d_0c_1x1", seed=2)


def weights_of(model, path: str, part: str = "conv") -> list[np.ndarray]:
    return model.get_layer(layer_name(path, part)).get_weights()


@pytest.mark.parametrize("name", list(DEEPMIND))
def test_deepmind_checkpoint_lands_in_the_right_layers(name, tmp_path):
    _, prefix, channels, classes = DEEPMIND[name]
    variables = random_variables(read_layout(name), seed=0)
    checkpoint = write_tf_checkpoint(tmp_path / "model.ckpt", variables)
    given = f"{checkpoint}.index" if name == "flow_imagenet" else checkpoint  # both ways of naming it

    arrays = load_checkpoint_arrays(given, channels=channels)
    model = build_i3d(channels=channels, num_classes=num_classes(arrays), size=None)
    assign_weights(model, arrays)

    assert num_classes(arrays) == classes
    for path, _, _ in unit_paths():  # Mixed_5b's Branch_2 3x3 conv is `Conv3d_0a_3x3` in the checkpoint
        source = prefix + path.replace("Mixed_5b/Branch_2/Conv3d_0b_3x3", "Mixed_5b/Branch_2/Conv3d_0a_3x3")
        np.testing.assert_array_equal(weights_of(model, path)[0], variables[f"{source}/conv_3d/w"])
        for got, statistic in zip(weights_of(model, path, "bn"), ("beta", "moving_mean", "moving_variance")):
            np.testing.assert_array_equal(got, variables[f"{source}/batch_norm/{statistic}"].reshape(-1))
    kernel, bias = weights_of(model, "Logits/Conv3d_0c_1x1")
    np.testing.assert_array_equal(bias, variables[f"{prefix}Logits/Conv3d_0c_1x1/conv_3d/b"])
    if channels == 3:
        with pytest.raises(WeightsError, match="3-channel input; the model takes 2"):
            load_checkpoint_arrays(checkpoint, channels=2)


def test_deepmind_variables_missing_or_left_over_are_named():
    variables = {name: np.zeros(shape, np.float32) for name, shape in read_layout("flow_imagenet").items()}
    assert len(deepmind_to_arrays({**variables, "global_step": np.array(9, np.int64),
                                   "Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w/Momentum": np.zeros(1)})) == 115

    gone = "Flow/inception_i3d/Mixed_4c/Branch_1/Conv3d_0b_3x3/batch_norm/moving_mean"
    with pytest.raises(WeightsError, match=f"no variable {gone}"):
        deepmind_to_arrays({name: value for name, value in variables.items() if name != gone})
    extra = "Flow/inception_i3d/Mixed_6a/Branch_0/Conv3d_0a_1x1/conv_3d/w"
    with pytest.raises(WeightsError, match=f"1 checkpoint variables have no place in the model, e.g. {extra}"):
        deepmind_to_arrays({**variables, extra: np.zeros(3, np.float32)})
    both_streams = {**variables, **{name.replace("Flow/", "RGB/"): value for name, value in variables.items()}}
    with pytest.raises(WeightsError, match="expected one I3D in the checkpoint, found 2"):
        deepmind_to_arrays(both_streams)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_pytorch_i3d_state_dict_is_transposed_and_gamma_folded(legacy, pytorch_i3d_state, flow_model, tmp_path):
    path = write_torch_file(tmp_path / "flow_imagenet.pt", pytorch_i3d_state, legacy=legacy)
    assign_weights(flow_model, load_checkpoint_arrays(path, channels=2))

    weight, gamma = pytorch_i3d_state["Mixed_4c.b1b.conv3d.weight"], pytorch_i3d_state["Mixed_4c.b1b.bn.weight"]
    kernel = weights_of(flow_model, "Mixed_4c/Branch_1/Conv3d_0b_3x3")[0]
    assert kernel.shape == (3, 3, 3, 112, 224)
    np.testing.assert_allclose(kernel, weight.transpose(2, 3, 4, 1, 0) * gamma)
    beta, mean, variance = weights_of(flow_model, "Mixed_4c/Branch_1/Conv3d_0b_3x3", "bn")
    np.testing.assert_array_equal(beta, pytorch_i3d_state["Mixed_4c.b1b.bn.bias"])
    np.testing.assert_allclose(mean, pytorch_i3d_state["Mixed_4c.b1b.bn.running_mean"] * gamma)
    np.testing.assert_array_equal(variance, pytorch_i3d_state["Mixed_4c.b1b.bn.running_var"])
    kernel, bias = weights_of(flow_model, "Logits/Conv3d_0c_1x1")
    np.testing.assert_array_equal(kernel[0, 0, 0], pytorch_i3d_state["logits.conv3d.weight"][:, :, 0, 0, 0].T)
    with pytest.raises(WeightsError, match="2-channel input; the model takes 3"):
        load_checkpoint_arrays(path, channels=3)


def test_folded_gamma_gives_pytorch_batchnorm_exactly(pytorch_i3d_state, flow_model):
    """Conv3d_1a_7x7 of the imported model = ReLU(gamma * (conv(x) - mean) / sqrt(var + 1e-3) + beta)
    with the unfolded PyTorch kernel, negative gammas included."""
    assign_weights(flow_model, pytorch_i3d_to_arrays(pytorch_i3d_state))
    x = np.random.default_rng(3).uniform(-1, 1, (1, 9, 32, 32, 2)).astype(np.float32)
    got = np.asarray(endpoint_model(flow_model, "Conv3d_1a_7x7")(x))

    unit = {part: pytorch_i3d_state[f"Conv3d_1a_7x7.{part}"] for part in
            ("conv3d.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")}
    conv = tf.nn.conv3d(x, unit["conv3d.weight"].transpose(2, 3, 4, 1, 0), [1, 2, 2, 2, 1], "SAME").numpy()
    reference = np.maximum(unit["bn.weight"] * (conv - unit["bn.running_mean"])
                           / np.sqrt(unit["bn.running_var"] + 1e-3) + unit["bn.bias"], 0)
    assert (unit["bn.weight"] < 0).any()
    np.testing.assert_allclose(got, reference, rtol=1e-4, atol=1e-4)


def test_video_features_npz_state_dict(video_features_state, flow_model, tmp_path):
    path = tmp_path / "i3d_flow.npz"
    np.savez(path, **video_features_state)
    assign_weights(flow_model, load_checkpoint_arrays(path, channels=2))

    weight = video_features_state["mixed_5b.branch_2.1.conv3d.weight"]
    gamma = video_features_state["mixed_5b.branch_2.1.batch3d.weight"]
    np.testing.assert_allclose(weights_of(flow_model, "Mixed_5b/Branch_2/Conv3d_0b_3x3")[0],
                               weight.transpose(2, 3, 4, 1, 0) * gamma)
    np.testing.assert_array_equal(weights_of(flow_model, "Mixed_3c/Branch_3/Conv3d_0b_1x1", "bn")[0],
                                  video_features_state["mixed_3c.branch_3.1.batch3d.bias"])
    np.testing.assert_array_equal(weights_of(flow_model, "Logits/Conv3d_0c_1x1")[1],
                                  video_features_state["conv3d_0c_1x1.conv3d.bias"])


def test_state_dict_variables_missing_or_left_over_are_named(pytorch_i3d_state, tmp_path):
    gone = "Mixed_4d.b2a.bn.running_var"
    path = write_torch_file(tmp_path / "missing.pt", {k: v for k, v in pytorch_i3d_state.items() if k != gone})
    with pytest.raises(WeightsError, match=f"no variable {gone}"):
        load_checkpoint_arrays(path)
    extra = {**pytorch_i3d_state, "Mixed_6a.b0.conv3d.weight": np.zeros((1, 1, 1, 1, 1), np.float32)}
    with pytest.raises(WeightsError, match="no place in the model, e.g. Mixed_6a.b0.conv3d.weight"):
        load_checkpoint_arrays(write_torch_file(tmp_path / "extra.pt", extra))


def test_detect_scheme(pytorch_i3d_state, video_features_state):
    for name in DEEPMIND:
        assert detect_scheme(read_layout(name)) == "deepmind"
    assert detect_scheme(pytorch_i3d_state) == "pytorch_i3d"
    assert detect_scheme(video_features_state) == "video_features"
    with pytest.raises(WeightsError, match="not an I3D checkpoint in a known naming scheme.*module.Conv3d"):
        detect_scheme({f"module.{name}": value for name, value in pytorch_i3d_state.items()})


def test_files_that_are_not_checkpoints_are_refused(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(WeightsError, match="notes.pt is not a checkpoint: expected a TensorFlow checkpoint"):
        read_checkpoint(text)
    with pytest.raises(WeightsError, match="no checkpoint file at .*absent.ckpt"):
        read_checkpoint(tmp_path / "absent.ckpt")
    plain_pickle = tmp_path / "arrays.pkl"
    plain_pickle.write_bytes(pickle.dumps({"w": 1}, protocol=2))
    with pytest.raises(WeightsError, match="is a pickle but not a PyTorch file"):
        read_checkpoint(plain_pickle)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(WeightsError, match="neither a PyTorch state dict .* nor an .npz"):
        read_checkpoint(other_zip)
    for legacy, message in ((False, "cannot read checkpoint .*truncated.pt"), (True, "truncated.pt is truncated")):
        whole = write_torch_file(tmp_path / "whole.pt", {"w": np.ones(1000, np.float32)}, legacy=legacy)
        truncated = tmp_path / "truncated.pt"
        truncated.write_bytes(whole.read_bytes()[:3000])
        with pytest.raises(WeightsError, match=message):
            read_checkpoint(truncated)


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_pickled_code_in_a_state_dict_file_is_refused(legacy, tmp_path):
    marker = tmp_path / "pwned"
    path = write_torch_file(tmp_path / "evil.pt", {}, legacy=legacy,
                            data_pkl=pickle.dumps({"w": _RunsCode(marker)}, protocol=2))
    with pytest.raises(WeightsError, match="refusing to unpickle .*system"):
        read_checkpoint(path)
    assert not marker.exists()


def test_a_tensor_larger_than_its_storage_is_refused(tmp_path):
    path = write_torch_file(tmp_path / "hostile.pt", {"w": np.zeros(10, np.float32)},
                            declared_shapes={"w": (1000, 1000)})
    with pytest.raises(WeightsError, match=r"size \(1000, 1000\) reaches beyond its storage of 10 values"):
        read_checkpoint(path)


def test_extractor_uses_a_deepmind_flow_checkpoint_from_the_config(tmp_path):
    from core.features.config import ExtractorConfig, InferenceSection, ModelSection
    from core.features.extractor import DynamicFeatureExtractor
    variables = random_variables(read_layout("flow_imagenet"), seed=3)
    prefix = write_tf_checkpoint(tmp_path / "model.ckpt", variables)
    config = ExtractorConfig(model=ModelSection(weights="checkpoint", weights_path=str(prefix)),
                             inference=InferenceSection(precision="float32"))
    extractor = DynamicFeatureExtractor(config=config)
    np.testing.assert_array_equal(
        weights_of(extractor.model, "Mixed_5b/Branch_2/Conv3d_0b_3x3")[0],
        variables["Flow/inception_i3d/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w"])
    assert extractor.settings()["weights_path"] == str(prefix)
