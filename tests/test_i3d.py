"""The Keras I3D: DeepMind's architecture, endpoints, aliases, and input limits."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.architecture import ARCHITECTURE
from core.model.endpoints import ALIASES, ENDPOINT_ORDER, EndpointError, resolve_endpoint
from core.model.i3d import build_i3d, endpoint_model, unit_paths


@pytest.fixture(scope="module")
def flow_i3d():
    return build_i3d(channels=2, frames=None, size=None, final_endpoint="Features")


def test_unit3d_is_conv_without_bias_then_beta_only_batchnorm(flow_i3d):
    conv = flow_i3d.get_layer("Conv3d_1a_7x7_conv")
    assert conv.use_bias is False and conv.padding == "same" and conv.strides == (2, 2, 2)
    assert tuple(conv.kernel.shape) == (7, 7, 7, 2, 64)
    bn = flow_i3d.get_layer("Conv3d_1a_7x7_bn")
    assert bn.scale is False and bn.center is True and bn.epsilon == 1e-3
    assert tuple(flow_i3d.get_layer("Mixed_5b_Branch_2_Conv3d_0b_3x3_conv").kernel.shape) == (3, 3, 3, 32, 128)


def test_every_endpoint_is_a_named_layer_with_the_papers_channels(flow_i3d):
    channels = {"Mixed_3b": 256, "Mixed_3c": 480, "Mixed_4b": 512, "Mixed_4e": 528, "Mixed_4f": 832,
                "Mixed_5b": 832, "Mixed_5c": 1024, "Conv3d_2c_3x3": 192, "Features": 1024}
    for name, count in channels.items():
        assert flow_i3d.get_layer(name).output.shape[-1] == count
    assert len(unit_paths()) == 57
    assert ENDPOINT_ORDER == tuple(name for name, _ in ARCHITECTURE) + ("Features", "Logits", "Predictions")


def test_googlenet_aliases_resolve():
    assert resolve_endpoint("inception_3a_concat") == "Mixed_3b"
    assert resolve_endpoint("inception_5b") == "Mixed_5c"
    assert len(ALIASES) == 18
    with pytest.raises(EndpointError, match="unknown endpoint 'Mixed_6a'"):
        resolve_endpoint("Mixed_6a")


def test_any_endpoint_can_be_the_output(flow_i3d):
    model = endpoint_model(flow_i3d, ["inception_3a", "Mixed_4f", "Features"])
    x = np.random.default_rng(0).uniform(-1, 1, (1, 9, 193, 193, 2)).astype(np.float32)
    mixed_3b, mixed_4f, features = (np.asarray(o) for o in model(x))
    assert mixed_3b.shape == (1, 5, 25, 25, 256)  # T: ceil(9/2); H: ceil(193/8)
    assert mixed_4f.shape == (1, 3, 13, 13, 832)
    assert features.shape == (1, 1024)


def test_logits_head_and_shorter_builds():
    model = build_i3d(channels=3, num_classes=7, frames=16)
    assert model.output.shape == (None, 7)
    truncated = build_i3d(channels=2, final_endpoint="Mixed_3c")
    assert truncated.output.shape[-1] == 480 and "Mixed_4b" not in {l.name for l in truncated.layers}


def test_inputs_too_small_are_refused_clearly():
    with pytest.raises(ValueError, match="at least 9 frames"):
        build_i3d(frames=8)
    with pytest.raises(ValueError, match="at least 193x193"):
        build_i3d(size=160)
    assert build_i3d(size=64, final_endpoint="Mixed_4f").output.shape[1:4] == (None, 4, 4)
