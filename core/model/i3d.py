"""Inception-I3D (Carreira & Zisserman, CVPR 2017) as a Keras 3 functional model.

The architecture is DeepMind's kinetics-i3d `i3d.py`, declared once in `ARCHITECTURE`:
- Unit3D = Conv3D (TensorFlow 'SAME' padding, no bias) -> BatchNorm (beta only, no scale,
  epsilon 1e-3) -> ReLU;
- max pools with 'SAME' padding; nine Inception (Mixed) blocks with the paper's widths;
- the head: average pool 2x7x7 VALID -> dropout -> 1x1x1 conv with bias -> mean over time.

Every endpoint is a layer with DeepMind's name (`ENDPOINT_ORDER`), so any of them can be an output;
GoogLeNet names (`inception_3a` ... `inception_5b`, also with `_concat`) are aliases. `Features`
is the 1024-value clip descriptor: Mixed_5c average-pooled (2x7x7 VALID), then averaged over time.
Keras layer names cannot hold "/", so a checkpoint variable `Mixed_3b/Branch_1/Conv3d_0b_3x3` is the
layers `Mixed_3b_Branch_1_Conv3d_0b_3x3_conv` and `..._bn`.

Input: `[B, T, H, W, C] float32` in [-1, 1] (C = 2 for flow, 3 for RGB); T >= 9 and H, W >= 193
for the head (`Features`, `Logits`); endpoints below it accept any size.
"""

from __future__ import annotations

import keras
from keras import layers

from core.errors import DFEError
from core.model.architecture import ARCHITECTURE, Mixed, Pool, Unit
from core.model.endpoints import HEAD_ENDPOINTS, MIN_FRAMES, resolve_endpoint

MIN_HEAD_SIZE = 193  # ceil(H / 32) must reach the 7x7 average pool


class ModelInputError(DFEError, ValueError):
    """The input asked of the model is too short or too small for its architecture."""

# The branches of a Mixed block: (checkpoint path, index into the widths, kernel).
MIXED_UNITS = (("Branch_0/Conv3d_0a_1x1", 0, (1, 1, 1)), ("Branch_1/Conv3d_0a_1x1", 1, (1, 1, 1)),
               ("Branch_1/Conv3d_0b_3x3", 2, (3, 3, 3)), ("Branch_2/Conv3d_0a_1x1", 3, (1, 1, 1)),
               ("Branch_2/Conv3d_0b_3x3", 4, (3, 3, 3)), ("Branch_3/Conv3d_0b_1x1", 5, (1, 1, 1)))


def layer_name(path: str, part: str) -> str:
    """Keras layer name for checkpoint path `path` (e.g. 'Mixed_3b/Branch_1/Conv3d_0b_3x3') and
    `part` ('conv' or 'bn')."""
    return f"{path.replace('/', '_')}_{part}"


def unit_paths() -> list[tuple[str, int, int]]:
    """Every Unit3D of the architecture as (checkpoint path, out channels, kernel depth)."""
    paths = []
    for name, stage in ARCHITECTURE:
        if isinstance(stage, Unit):
            paths.append((name, stage.channels, stage.kernel[0]))
        elif isinstance(stage, Mixed):
            paths += [(f"{name}/{branch}", stage.widths[i], k[0]) for branch, i, k in MIXED_UNITS]
    return paths


def _unit(x, path: str, channels: int, kernel, stride=(1, 1, 1), output_name: str | None = None,
          dtype: str | None = None):
    x = layers.Conv3D(channels, kernel, strides=stride, padding="same", use_bias=False,
                      name=layer_name(path, "conv"), dtype=dtype)(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, scale=False,
                                  name=layer_name(path, "bn"), dtype=dtype)(x)
    return layers.ReLU(name=output_name or layer_name(path, "relu"), dtype=dtype)(x)


def _mixed(x, name: str, block: Mixed, dtype: str | None):
    def unit(inputs, index: int):
        path, width_index, kernel = MIXED_UNITS[index]
        return _unit(inputs, f"{name}/{path}", block.widths[width_index], kernel, dtype=dtype)

    branch_0 = unit(x, 0)
    branch_1 = unit(unit(x, 1), 2)
    branch_2 = unit(unit(x, 3), 4)
    pooled = layers.MaxPooling3D((3, 3, 3), strides=(1, 1, 1), padding="same",
                                 name=f"{name}_Branch_3_MaxPool3d_0a_3x3", dtype=dtype)(x)
    branch_3 = unit(pooled, 5)
    return layers.Concatenate(axis=-1, name=name, dtype=dtype)([branch_0, branch_1, branch_2, branch_3])


def build_i3d(channels: int = 2, num_classes: int = 400, final_endpoint: str = "Logits",
              frames: int | None = None, size: int | None = 224, dropout_rate: float = 0.0,
              name: str | None = None, dtype: str | None = None,
              start_after: str | None = None) -> keras.Model:
    """Build Inception-I3D up to `final_endpoint` (an endpoint or alias), randomly initialised.

    Args:
        channels: input channels (2: flow (dx, dy); 3: RGB).
        num_classes: outputs of the logits layer.
        frames: fixed T, or None for any T >= 9.
        size: fixed H = W, or None for any size (>= 193 for the head).
        dropout_rate: dropout before the logits (DeepMind trains with keep 0.5; 0 for inference).
        dtype: a Keras dtype policy for every layer, e.g. "mixed_bfloat16" (variables stay float32);
            None uses the global policy. The head's outputs are float32 either way.
        start_after: build only the stages after this endpoint; the input is then that endpoint's
            output `[B, t, h, w, c]` (layer names as in the whole model, so weights copy by name).
    Returns a `keras.Model` mapping `[B, T, H, W, channels]` to the endpoint's output.
    """
    final_endpoint = resolve_endpoint(final_endpoint)
    stages = ARCHITECTURE
    if start_after is not None:
        cut = [stage_name for stage_name, _ in ARCHITECTURE].index(resolve_endpoint(start_after)) + 1
        channels, stages, frames, size = _channels_after(cut), ARCHITECTURE[cut:], None, None
    if frames is not None and frames < MIN_FRAMES:
        raise ModelInputError(f"I3D needs at least {MIN_FRAMES} frames, got {frames}")
    if final_endpoint in HEAD_ENDPOINTS and size is not None and size < MIN_HEAD_SIZE:
        raise ModelInputError(f"the I3D head needs frames of at least {MIN_HEAD_SIZE}x{MIN_HEAD_SIZE}, got {size}")
    inputs = keras.Input((frames, size, size, channels), name="inputs")
    x = inputs
    for stage_name, stage in stages:
        if isinstance(stage, Unit):
            x = _unit(x, stage_name, stage.channels, stage.kernel, stage.stride, stage_name, dtype)
        elif isinstance(stage, Pool):
            x = layers.MaxPooling3D(stage.window, strides=stage.stride, padding="same", name=stage_name,
                                    dtype=dtype)(x)
        else:
            x = _mixed(x, stage_name, stage, dtype)
        if stage_name == final_endpoint:
            return keras.Model(inputs, x, name=name or f"i3d_{final_endpoint}")
    pooled = layers.AveragePooling3D((2, 7, 7), strides=(1, 1, 1), padding="valid", name="Logits_AvgPool",
                                     dtype=dtype)(x)
    if final_endpoint == "Features":
        return keras.Model(inputs, _features_head(pooled), name=name or "i3d_Features")
    x = layers.Dropout(dropout_rate, name="Logits_Dropout")(pooled)
    x = layers.Conv3D(num_classes, (1, 1, 1), use_bias=True, name=layer_name("Logits/Conv3d_0c_1x1", "conv"),
                      dtype=dtype)(x)
    logits = layers.GlobalAveragePooling3D(name="Logits", dtype="float32")(x)
    if final_endpoint == "Logits":
        return keras.Model(inputs, logits, name=name or "i3d")
    predictions = layers.Softmax(name="Predictions")(logits)
    return keras.Model(inputs, predictions, name=name or "i3d_Predictions")


def _channels_after(count: int) -> int:
    """Channels output by the first `count` stages of ARCHITECTURE."""
    widths = [stage.channels for _, stage in ARCHITECTURE[:count] if not isinstance(stage, Pool)]
    return widths[-1]


def _features_head(pooled):
    """`Features`: the 2x7x7-pooled Mixed_5c averaged over time (and space) -> `[B, 1024]`."""
    return layers.GlobalAveragePooling3D(name="Features", dtype="float32")(pooled)


def _endpoint_output(model: keras.Model, name: str):
    canonical = resolve_endpoint(name)
    if canonical == "Features" and canonical not in {layer.name for layer in model.layers}:
        return _features_head(model.get_layer("Logits_AvgPool").output)  # a model built to Logits
    return model.get_layer(canonical).output


def pooled_model(model: keras.Model) -> keras.Model:
    """A model sharing `model`'s weights whose output is `Logits_AvgPool`, before the mean over time:
    `[B, T, H, W, C]` -> `[B, ceil(T / 8) - 1, 1, 1, 1024]`. Output step i is the `Features` of the
    16 input frames [8i, 8i + 16) seen with the rest of the input as temporal context."""
    return keras.Model(model.input, model.get_layer("Logits_AvgPool").output)


def endpoint_model(model: keras.Model, endpoints: str | list[str]) -> keras.Model:
    """A model sharing `model`'s weights whose outputs are the given endpoint(s) or alias(es)."""
    names = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    outputs = [_endpoint_output(model, name) for name in names]
    return keras.Model(model.input, outputs[0] if isinstance(endpoints, str) else outputs)
