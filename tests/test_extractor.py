"""DynamicFeatureExtractor: the SPEC API, config validation, windows, files, batching invariance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection, load_config
from core.errors import FlowShapeError, InvalidFlowValuesError, SequenceError
from core.features.extractor import DynamicFeatureExtractor
from core.features.store import read_features
from core.weights.flow_stream import cross_modal_arrays
from core.flow.store import load_flow
from core.features.rgb_stream import kinetics400_labels
from core.errors import ConfigError
from core.weights.kinetics import kinetics400_rgb_model

SMALL = ExtractorConfig(model=ModelSection(weights="random", sequence_length=9, stride=5, input_size=224),
                        inference=InferenceSection(batch_size=2, precision="float32"))


@pytest.fixture(scope="module")
def extractor():
    return DynamicFeatureExtractor(config=SMALL)


def flow_clip(frames=9, height=120, width=160, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 4, (frames, height, width, 2)).astype(np.float32)


def test_spec_api_from_the_default_config_file():
    extractor = DynamicFeatureExtractor(config_path="config/dynamic_model_config.yaml")
    preprocessed = extractor.preprocess_flow_sequence(flow_clip(16))
    assert preprocessed.shape == (1, 16, 224, 224, 2) and np.abs(preprocessed).max() <= 1
    features = extractor.extract_features(preprocessed)
    assert features.shape == (1, 1024) and features.dtype == np.float32
    assert extractor.model.get_layer("Mixed_3b") is not None  # every endpoint reachable for visualisation


def test_cross_modal_init_averages_the_rgb_first_conv():
    rgb = kinetics400_rgb_model()
    arrays = cross_modal_arrays(rgb)
    rgb_kernel = rgb.get_layer("Conv3d_1a_7x7_conv").get_weights()[0]
    flow_kernel = arrays["Conv3d_1a_7x7_conv"][0]
    assert flow_kernel.shape == (7, 7, 7, 2, 64)
    np.testing.assert_allclose(flow_kernel[..., 0, :], rgb_kernel.mean(axis=3), rtol=1e-6)
    np.testing.assert_array_equal(flow_kernel[..., 0, :], flow_kernel[..., 1, :])
    np.testing.assert_array_equal(arrays["Mixed_4d_Branch_1_Conv3d_0b_3x3_conv"][0],
                                  rgb.get_layer("Mixed_4d_Branch_1_Conv3d_0b_3x3_conv").get_weights()[0])


def test_batched_features_equal_one_at_a_time(extractor):
    clips = extractor.preprocess_flow_sequence(np.stack([flow_clip(seed=s) for s in range(3)]))
    together = extractor.extract_features(clips)
    alone = np.concatenate([extractor.extract_features(clips[i:i + 1]) for i in range(3)])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_a_window_alone_equals_the_same_window_in_a_longer_run(extractor):
    flow = flow_clip(frames=19)
    whole = extractor.extract_flow(flow, fps=25.0, name="long")
    assert [(w.start, w.stop) for w in whole.windows] == [(0, 9), (5, 14), (10, 19)]
    second = extractor.extract_flow(flow[5:14], fps=25.0)
    np.testing.assert_allclose(whole.features[1], second.features[0], atol=1e-5)


def test_bad_inputs_are_clear_errors(extractor):
    with pytest.raises(FlowShapeError, match=r"\[T, H, W, 2\]"):
        extractor.preprocess_flow_sequence(np.zeros((9, 32, 32, 3), np.float32))
    with pytest.raises(FlowShapeError, match="use preprocess_flow_sequence"):
        extractor.extract_features(np.zeros((1, 9, 112, 112, 2), np.float32))
    with pytest.raises(SequenceError, match="minimum of 9"):
        extractor.extract_features(np.zeros((1, 8, 224, 224, 2), np.float32))
    bad = flow_clip()
    bad[3, 4, 5, 0] = np.nan
    with pytest.raises(InvalidFlowValuesError):
        extractor.preprocess_flow_sequence(bad)


def test_config_is_validated(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  sequence_lenght: 16\n")
    with pytest.raises(ConfigError, match="unknown key.*model.sequence_lenght"):
        load_config(config)
    config.write_text("inference:\n  batch_size: four\n")
    with pytest.raises(ConfigError, match="inference.batch_size must be int"):
        load_config(config)
    config.write_text("model:\n  endpoint: Mixed_9z\n")
    with pytest.raises(ConfigError, match="unknown endpoint"):
        load_config(config)
    config.write_text("model:\n  sequence_length: 8\n")
    with pytest.raises(ConfigError, match="at least 9"):
        load_config(config)
    config.write_text("flow:\n  fps: 25\nmodel:\n  endpoint: inception_5b\n")
    loaded = load_config(config)
    assert loaded.flow.fps == 25.0 and loaded.model.endpoint == "inception_5b"


def test_video_features_are_written_with_time_base_and_reused(extractor, demo_video, tmp_path):
    config = ExtractorConfig(model=SMALL.model, inference=SMALL.inference,
                             flow=FlowSection(method="dis"))
    video_extractor = DynamicFeatureExtractor(config=config, model=extractor.model)
    result = video_extractor.extract_video(demo_video, output_dir=tmp_path)
    assert result.features.shape == (3, 1024) and result.fps == 25.0
    index = json.loads((tmp_path / "demo_features.json").read_text())
    assert index["windows"][1]["start_ms"] == 200.0 and index["settings"]["endpoint"] == "Features"
    assert (tmp_path / "demo_features.csv").read_text().splitlines()[0].startswith("index,first_frame")
    np.testing.assert_array_equal(np.load(tmp_path / "demo_features.npy"), result.features)
    calls = []
    again = video_extractor.extract_video(demo_video, output_dir=tmp_path, progress=lambda d, t: calls.append(d))
    np.testing.assert_array_equal(again.features, result.features)
    assert calls == [3]  # read back, not recomputed


def test_bfloat16_features_agree_with_float32(extractor):
    config = ExtractorConfig(model=SMALL.model, inference=InferenceSection(precision="mixed_bfloat16"))
    bfloat16 = DynamicFeatureExtractor(config=config)
    bfloat16.model.set_weights(extractor.model.get_weights())
    clips = extractor.preprocess_flow_sequence(flow_clip())
    a, b = extractor.extract_features(clips)[0], bfloat16.extract_features(clips)[0]
    assert b.dtype == np.float32
    assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.999


def cpu_flags() -> set[str]:
    """The flags of this machine's CPUs, read here from /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.split(":")[0].strip() == "flags"
            for flag in line.partition(":")[2].split()}


def test_bfloat16_detection_reads_the_cpu_flags(monkeypatch):
    from core.features import extractor as module
    assert module.cpu_has_bfloat16() == bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})

    class FakeCpuinfo:
        def __init__(self, text: str | None) -> None:
            self.text = text

        def read_text(self) -> str:
            if self.text is None:
                raise PermissionError("/proc/cpuinfo")
            return self.text

    for text, native in (("flags\t\t: fpu sse2 avx2 avx512f avx512bw\n", False),
                         ("flags\t\t: fpu avx512f avx512_bf16\n", True),
                         ("flags\t\t: fpu amx_tile amx_bf16 amx_int8\n", True), (None, False)):
        monkeypatch.setattr(module, "Path", lambda path, text=text: FakeCpuinfo(text))
        assert module.cpu_has_bfloat16() is native, text


@pytest.mark.parametrize("native_bfloat16", [True, False])
def test_auto_precision_follows_the_hardware(monkeypatch, native_bfloat16):
    import tensorflow as tf
    from core.features import extractor as module
    monkeypatch.setattr(module, "cpu_has_bfloat16", lambda: native_bfloat16)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert module.resolve_precision("auto", "cpu") == ("mixed_bfloat16" if native_bfloat16 else "float32")
    assert module.resolve_precision("auto", "auto") == ("mixed_bfloat16" if native_bfloat16 else "float32")
    assert module.resolve_precision("float32", "auto") == "float32"
    assert module.resolve_precision("mixed_bfloat16", "cpu") == "mixed_bfloat16"
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["/physical_device:GPU:0"] if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda device: {"device_name": "NVIDIA H200", "compute_capability": (9, 0)})
    assert module.resolve_precision("auto", "auto") == "mixed_bfloat16"  # the GPU's, not the CPU's
    assert module.resolve_precision("auto", "cpu") == ("mixed_bfloat16" if native_bfloat16 else "float32")
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda device: {"device_name": "Tesla T4", "compute_capability": (7, 5)})
    assert module.resolve_precision("auto", "gpu") == "mixed_float16"


@pytest.mark.parametrize("capability, policy", [((9, 0), "mixed_bfloat16"), ((8, 0), "mixed_bfloat16"),
                                                ((7, 5), "mixed_float16"), ((7, 0), "mixed_float16"),
                                                ((6, 1), "float32"), (None, "float32")])
def test_a_gpu_computes_in_the_mixed_precision_its_tensor_cores_have(capability, policy):
    from core.features.extractor import gpu_precision
    assert gpu_precision(capability) == policy


def test_mixed_float16_without_a_gpu_is_a_clear_error(monkeypatch):
    import tensorflow as tf
    from core.features.extractor import DeviceError
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    config = ExtractorConfig(model=ModelSection(weights="random"), inference=InferenceSection(precision="mixed_float16"))
    with pytest.raises(DeviceError, match="mixed_float16 needs a GPU"):
        DynamicFeatureExtractor(config=config)


def test_spatial_endpoint_gives_full_activations():
    config = ExtractorConfig(model=ModelSection(weights="random", endpoint="inception_3a_concat"),
                             inference=InferenceSection(precision="float32"))
    extractor = DynamicFeatureExtractor(config=config)
    out = extractor.extract_features(np.zeros((1, 9, 224, 224, 2), np.float32))
    assert out.shape == (1, 5, 28, 28, 256)


def test_rgb_stream_adds_kinetics_top5_and_two_stream_features(extractor, demo_video, tmp_path):
    config = ExtractorConfig(model=ModelSection(weights="random", sequence_length=9, stride=5, rgb="two_stream"),
                             inference=InferenceSection(precision="float32"), flow=FlowSection(method="dis"))
    two_stream = DynamicFeatureExtractor(config=config, model=extractor.model)
    result = two_stream.extract_video(demo_video, output_dir=tmp_path)
    assert result.features.shape == (3, 2048)
    flow_only = extractor.extract_flow(load_flow(tmp_path / "flow", "demo")[0], 25.0)
    np.testing.assert_allclose(result.features[:, 1024:], flow_only.features, atol=1e-5)
    top5 = result.predictions[0]
    labels = kinetics400_labels()
    assert len(top5) == 5 and top5[0]["label"] in labels
    assert top5[0]["probability"] >= top5[4]["probability"] > 0
    index = json.loads((tmp_path / "demo_features.json").read_text())
    assert index["windows"][2]["top5"][0]["label"] in labels
    assert "top1_label" in (tmp_path / "demo_features.csv").read_text().splitlines()[0]
    assert read_features(tmp_path, "demo").predictions == result.predictions


def test_device_choice(extractor):
    from core.features.extractor import DeviceError
    import tensorflow as tf
    clips = extractor.preprocess_flow_sequence(flow_clip())
    on_cpu = DynamicFeatureExtractor(config=ExtractorConfig(
        model=SMALL.model, inference=InferenceSection(device="cpu", precision="float32")), model=extractor.model)
    np.testing.assert_allclose(on_cpu.extract_features(clips), extractor.extract_features(clips), atol=1e-5)
    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(DeviceError, match="sees no GPU"):
            DynamicFeatureExtractor(config=ExtractorConfig(
                model=SMALL.model, inference=InferenceSection(device="gpu")), model=extractor.model)


def test_a_given_model_records_the_precision_it_really_computes_in(extractor):
    given = DynamicFeatureExtractor(config=ExtractorConfig(model=SMALL.model, inference=InferenceSection(
        precision="mixed_bfloat16")), model=extractor.model)  # a float32 model, e.g. from the registry
    assert given.precision == "float32" and given.settings()["precision"] == "float32"
    from core.weights.flow_stream import build_flow_i3d
    mixed = build_flow_i3d("random", size=None, dtype="mixed_bfloat16")
    assert DynamicFeatureExtractor(config=ExtractorConfig(model=SMALL.model), model=mixed).precision == "mixed_bfloat16"
