"""`extract_video` as one pass: one decode, flow kept only where asked, windows cut as frames arrive,
the RGB stream aligned with the flow, and stored features reused only for the same settings."""

from __future__ import annotations

import numpy as np
import pytest

import core.flow.pipeline
from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.features.rgb_stream import RGBStream, rgb_frame
from core.features.sequences import cut_window, make_windows, preprocess_flow
from core.features.streaming import BatchedForward, WindowCutter
from core.flow.computer import OpticalFlowComputer
from core.video.decode import I3D_FLOW_TRANSFORM, iter_frames

SMALL = ExtractorConfig(model=ModelSection(weights="random", sequence_length=9, stride=5),
                        inference=InferenceSection(batch_size=2, precision="float32"), flow=FlowSection(method="dis"))


@pytest.fixture(scope="module")
def extractor():
    return DynamicFeatureExtractor(config=SMALL)


def with_config(extractor, **sections) -> DynamicFeatureExtractor:
    config = ExtractorConfig(**{"model": SMALL.model, "inference": SMALL.inference, "flow": SMALL.flow, **sections})
    return DynamicFeatureExtractor(config=config, model=extractor.model)


@pytest.fixture()
def decodes(monkeypatch):
    """Counts the video decodes of the flow pipeline (the real decoder, counted on its way)."""
    calls = []

    def counted(*args, **kwargs):  # a generator: counted when decoding starts, not when it is set up
        calls.append(args[0])
        yield from iter_frames(*args, **kwargs)

    monkeypatch.setattr(core.flow.pipeline, "iter_frames", counted)
    return calls


def test_window_cutter_cuts_as_cut_window_does_including_the_padded_window():
    frames = np.arange(23 * 2).reshape(23, 2)
    for length, stride, count in ((9, 5, 23), (16, 8, 23), (16, 8, 11)):
        windows = make_windows("v", count, 25.0, length, stride)
        cutter = WindowCutter(windows)
        cut = [piece for frame in frames[:count] for piece in cutter.push(frame)]
        assert [w.index for w, _ in cut] == [w.index for w in windows] and cutter.finished
        for (window, clip), expected in zip(cut, windows):
            np.testing.assert_array_equal(clip, cut_window(frames[:count], expected))
    assert cut[0][1].shape == (16, 2) and cut[0][0].padded == 5  # 11 frames padded to 16


def test_batched_forward_runs_full_batches_in_order_and_reports_progress():
    sizes, progress = [], []

    def forward(batch):
        sizes.append(len(batch))
        return batch * 10

    batches = BatchedForward(forward, batch_size=3, total=7, progress=lambda d, t: progress.append((d, t)))
    for item in range(7):
        batches.add(np.array([item]))
    assert np.concatenate(batches.outputs()).ravel().tolist() == [0, 10, 20, 30, 40, 50, 60]
    assert sizes == [3, 3, 1] and progress == [(3, 7), (6, 7), (7, 7)]


def test_without_an_output_folder_nothing_is_written_and_the_video_is_decoded_once(
        extractor, demo_video, tmp_path, monkeypatch, decodes):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = extractor.extract_video(demo_video)
    assert list(tmp_path.iterdir()) == [] and decodes == [demo_video]
    flow = OpticalFlowComputer("dis").compute_sequence(iter_frames(demo_video, transform=I3D_FLOW_TRANSFORM))
    expected = extractor.extract_flow(flow, 25.0, "demo")
    assert [w.to_dict() for w in result.windows] == [w.to_dict() for w in expected.windows]
    np.testing.assert_allclose(result.features, expected.features, atol=1e-5)


def test_rgb_windows_come_from_the_same_decode_at_the_flows_rate(extractor, demo_video, tmp_path, decodes):
    resampled = with_config(extractor, model=ModelSection(weights="random", sequence_length=9, stride=1,
                                                          rgb="two_stream"),
                            flow=FlowSection(method="dis", fps=15.0))
    result = resampled.extract_video(demo_video, output_dir=tmp_path)
    assert decodes == [demo_video] and result.fps == 15.0
    frames = np.stack([rgb_frame(f) for f in iter_frames(demo_video, target_fps=15.0)])  # 12 frames at 15 fps
    assert len(result.windows) == 11 - 9 + 1
    last = result.windows[-1]
    logits, rgb_features = RGBStream().forward(cut_window(frames, last)[None])
    np.testing.assert_allclose(result.features[-1, :1024], rgb_features[0], atol=1e-4)
    assert result.predictions[-1][0]["label"] == resampled._rgb.labels[int(np.argmax(logits[0]))]

    decodes.clear()
    again = resampled.extract_video(demo_video, output_dir=tmp_path)  # features read back: no decode at all
    assert decodes == [] and again.predictions == result.predictions


def test_stored_flow_is_reused_and_features_are_recomputed_when_their_settings_change(
        extractor, demo_video, tmp_path, decodes):
    first = extractor.extract_video(demo_video, output_dir=tmp_path)
    flow_file = tmp_path / "flow" / "demo.npy"
    written = flow_file.stat().st_mtime_ns
    assert decodes == [demo_video] and len(first.windows) == 3

    longer = with_config(extractor, model=ModelSection(weights="random", sequence_length=12, stride=3))
    changed = longer.extract_video(demo_video, output_dir=tmp_path)
    assert [(w.start, w.stop) for w in changed.windows] == [(0, 12), (3, 15), (6, 18), (7, 19)]
    assert changed.settings["sequence_length"] == 12 and flow_file.stat().st_mtime_ns == written
    assert decodes == [demo_video]  # the stored flow was read back, the video not decoded again
    flow = np.load(flow_file)
    np.testing.assert_allclose(changed.features[1],
                               longer.extract_features(preprocess_flow(flow[3:15])[None])[0], atol=1e-5)

    faster = with_config(extractor, flow=FlowSection(method="farneback"))
    other_flow = faster.extract_video(demo_video, output_dir=tmp_path)
    assert other_flow.settings["flow"]["method"] == "farneback" and flow_file.stat().st_mtime_ns != written
    assert len(decodes) == 2
    farneback_flow = np.load(flow_file)
    assert np.abs(farneback_flow - flow).mean() > 0.05  # another method's flow, not DIS's read back
    np.testing.assert_allclose(other_flow.features, faster.extract_flow(farneback_flow, 25.0, "demo").features,
                               rtol=1e-4, atol=1e-8)


def test_features_of_other_weights_under_the_same_config_are_not_reused(extractor, demo_video, tmp_path):
    # A registry version is passed as a ready model: its config names no weights of its own.
    first = extractor.extract_video(demo_video, output_dir=tmp_path)
    other_model = DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random", seed=1, sequence_length=9, stride=5),
        inference=SMALL.inference, flow=SMALL.flow)).model
    other = DynamicFeatureExtractor(config=SMALL, model=other_model)
    assert other.settings()["weights"] == first.settings["weights"]
    recomputed = other.extract_video(demo_video, output_dir=tmp_path)
    assert recomputed.settings["weights_sha256"] != first.settings["weights_sha256"]
    assert not np.allclose(recomputed.features, first.features)
    np.testing.assert_allclose(recomputed.features, other.extract_flow(
        np.load(tmp_path / "flow" / "demo.npy"), 25.0, "demo").features, rtol=1e-4, atol=1e-8)
    written = (tmp_path / "demo_features.npy").stat().st_mtime_ns
    same_values = DynamicFeatureExtractor(config=SMALL, model=other_model)  # the same weights: reused
    assert same_values.extract_video(demo_video, output_dir=tmp_path).settings == recomputed.settings
    assert (tmp_path / "demo_features.npy").stat().st_mtime_ns == written
    kernel = same_values.model.weights[0]
    kernel.assign(kernel.numpy() * 1.5)  # trained in place, as fine-tuning does
    assert same_values.settings()["weights_sha256"] != recomputed.settings["weights_sha256"]


def test_flow_storage_is_a_choice_and_features_are_reused_without_stored_flow(
        extractor, demo_video, tmp_path, decodes):
    half = extractor.extract_video(demo_video, output_dir=tmp_path / "half", flow_storage="npy16")
    stored = np.load(tmp_path / "half" / "flow" / "demo.npy")
    assert stored.dtype == np.float16 and stored.shape == (19, 224, 224, 2)
    full = extractor.extract_video(demo_video, output_dir=tmp_path / "full")
    full_flow = np.load(tmp_path / "full" / "flow" / "demo.npy")
    assert full_flow.dtype == np.float32 and np.abs(full_flow - stored).max() <= 0.008  # float16 below 32 px
    np.testing.assert_allclose(half.features, full.features, atol=1e-6)  # both computed from float32 flow

    decodes.clear()
    features_only = with_config(extractor, flow=FlowSection(method="dis", storage="none"))
    first = features_only.extract_video(demo_video, output_dir=tmp_path / "none")
    assert not (tmp_path / "none" / "flow").exists() and len(decodes) == 1
    again = features_only.extract_video(demo_video, output_dir=tmp_path / "none")
    assert len(decodes) == 1  # the features on disk were the answer: not decoded again
    np.testing.assert_array_equal(again.features, first.features)


def test_feature_rate_sets_the_stride_and_every_feature_carries_its_time(extractor, demo_video, tmp_path):
    from core.features.store import read_features_hdf5, write_features_hdf5

    dense = with_config(extractor, model=ModelSection(weights="random", sequence_length=9, feature_fps=12.5))
    result = dense.extract_video(demo_video, output_dir=tmp_path)  # 25 fps flow: a window every 2 frames
    assert [w.start for w in result.windows] == [0, 2, 4, 6, 8, 10]
    assert [w.centre_ms for w in result.windows] == [180.0, 260.0, 340.0, 420.0, 500.0, 580.0]
    assert result.settings["feature_fps"] == 12.5
    table = (tmp_path / "demo_features.csv").read_text().splitlines()
    assert table[0].split(",")[5] == "centre_ms" and table[2].split(",")[5] == "260.0"

    write_features_hdf5(tmp_path / "run.h5", {"demo": result})
    back = read_features_hdf5(tmp_path / "run.h5")["demo"]
    np.testing.assert_array_equal(back.features, result.features)
    assert back.windows == result.windows and back.fps == 25.0 and back.settings == result.settings


def test_outputs_named_after_a_file_name_keep_the_whole_name(extractor, demo_video, tmp_path):
    from core.features.store import feature_paths, read_features

    assert [p.name for p in feature_paths(tmp_path, "clip.mp4")] == [
        "clip.mp4_features.npy", "clip.mp4_features.json", "clip.mp4_features.csv"]
    result = extractor.extract_video(demo_video, output_dir=tmp_path, name="clip.mp4")
    assert (tmp_path / "flow" / "clip.mp4.npy").is_file() and result.name == "clip.mp4"
    np.testing.assert_array_equal(read_features(tmp_path, "clip.mp4").features, result.features)


def test_a_probe_the_caller_already_made_is_not_made_again(extractor, demo_video, monkeypatch):
    from core.video.decode import probe_video
    probes = []

    def counted(*args, **kwargs):  # the real probe, counted on its way
        probes.append(args[0])
        return probe_video(*args, **kwargs)

    monkeypatch.setattr(core.flow.pipeline, "probe_video", counted)
    info = probe_video(demo_video)
    with_info = extractor.extract_video(demo_video, info=info)
    assert probes == []
    without = extractor.extract_video(demo_video)
    assert probes == [demo_video]
    np.testing.assert_array_equal(with_info.features, without.features)
