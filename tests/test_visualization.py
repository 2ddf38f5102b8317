"""FeatureVisualization (the SPEC calls, written files are valid images/GIFs) and the per-video
feature plots (readable at 1000 windows)."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest
from matplotlib.figure import Figure

from core.features.config import ExtractorConfig, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.features.similarity import cosine_similarity_matrix
from core.viz.feature_plots import (channel_profile, downsample, features_time_heatmap, features_time_heatmap_plotly,
                                   pca_trajectory_plot, pca_trajectory_plotly, similarity_matrix_plot,
                                   similarity_matrix_plotly)
from core.features.store import FeatureSet
from core.model.architecture import temporal_stride
from core.features.sequences import make_windows
from core.viz.visualization import FeatureVisualization


@pytest.fixture(scope="module")
def extractor():
    return DynamicFeatureExtractor(config=ExtractorConfig(model=ModelSection(weights="random"),
                                                          inference=InferenceSection(precision="float32")))


@pytest.fixture(scope="module")
def preprocessed(extractor):
    flow = np.tile(np.float32([3.0, -1.0]), (16, 224, 224, 1))
    flow[:, 80:140, 80:140] = [-4.0, 2.0]
    return extractor.preprocess_flow_sequence(flow)


def test_the_channel_grid_puts_each_map_scaled_to_its_own_range_at_its_tile():
    from core.viz.activation_views import channel_mosaic
    maps = np.stack([np.arange(12.0).reshape(3, 4) * (c + 1) - c for c in range(4)] + [np.full((3, 4), 7.0)], -1)
    mosaic, corners = channel_mosaic(maps)  # 5 maps: 3 columns, 2 rows; gaps 1 px above and beside
    assert mosaic.shape == (2 * 4, 3 * 4 + 2) and corners == [(1, 0), (1, 5), (1, 10), (5, 0), (5, 5)]
    for top, left in corners[:4]:
        np.testing.assert_allclose(mosaic[top:top + 3, left:left + 4], np.arange(12.0).reshape(3, 4) / 11)
    np.testing.assert_array_equal(mosaic[5:8, 5:9], 0.0)  # a constant map
    assert np.isnan(mosaic[0]).all() and np.isnan(mosaic[:, 4]).all() and np.isnan(mosaic[5:, 10:]).all()


def test_spec_visualisation_calls_write_valid_files(extractor, preprocessed, tmp_path):
    visualizer = FeatureVisualization(model=extractor.model, layer_name="inception_3a_concat")
    activations = visualizer.get_intermediate_activations(preprocessed)
    assert activations.shape == (1, 8, 28, 28, 256) and visualizer.layer_name == "Mixed_3b"
    assert isinstance(visualizer.visualize_layer_activations(activations, frame_idx=0), Figure)
    outputs = {
        "temporal_evolution.png": lambda p: visualizer.visualize_temporal_feature_evolution(
            activations=activations, feature_indices=[0, 10, 20], save_path=p),
        "feature_heatmap.png": lambda p: visualizer.create_feature_activation_heatmap(
            activations=activations, feature_idx=10, save_path=p),
        "feature_3d.png": lambda p: visualizer.visualize_3d_feature_activation(
            activations=activations, feature_idx=10, save_path=p),
        "comparative_view.png": lambda p: visualizer.create_comparative_temporal_view(
            activations=activations, feature_indices=[0, 10, 20], flow_sequence=preprocessed, save_path=p),
        "layer.png": lambda p: visualizer.visualize_layer_activations(activations, frame_idx=3, save_path=p),
    }
    for name, draw in outputs.items():
        draw(tmp_path / "results" / name)
        image = imageio.imread(tmp_path / "results" / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 200, name
    frames = visualizer.create_feature_evolution_animation(activations=activations, feature_idx=10,
                                                           save_path=tmp_path / "results" / "evolution.gif")
    gif = imageio.mimread(tmp_path / "results" / "evolution.gif")
    assert len(gif) == len(frames) == 8  # one frame per time step of the layer


def test_visual_sample_of_a_video_writes_its_features_and_every_view(extractor, demo_video, tmp_path):
    from core.features.config import FlowSection
    from core.features.folders import Sequence
    from core.viz.samples import visualize_sample
    video_extractor = DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random", sequence_length=9, stride=8), flow=FlowSection(method="dis"),
        inference=InferenceSection(precision="float32")), model=extractor.model)
    folder = tmp_path / "demo"
    files = visualize_sample(video_extractor, Sequence("demo", demo_video, None, "demo"), folder, layer="Mixed_4f")
    views = ["comparative_view.png", "feature_3d.png", "feature_evolution.gif", "feature_heatmap.png",
             "features_over_time.png", "layer_activations.png", "similarity.png", "temporal_evolution.png",
             "trajectory.png"]
    assert [p.name for p in files] == views
    for path in files:
        image = imageio.mimread(path)[0] if path.suffix == ".gif" else imageio.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, path.name
    # the first window (9 flow frames) at Mixed_4f: 9 -> 5 -> 3 time steps, one GIF frame each
    assert len(imageio.mimread(folder / "feature_evolution.gif")) == 3
    # 19 flow frames: windows at 0, 8 and 10 (the last one ends with the last frame)
    assert np.load(folder / "demo_features.npy").shape == (3, 1024)
    assert np.load(folder / "flow" / "demo.npy").shape == (19, 224, 224, 2)


def test_time_is_labelled_in_input_frames_and_ms(extractor):
    assert [temporal_stride(n) for n in ("Conv3d_1a_7x7", "Mixed_3b", "Mixed_4f", "Mixed_5c")] == [2, 2, 4, 8]
    visualizer = FeatureVisualization(extractor.model, "Mixed_4c", fps=25.0)
    times, unit = visualizer.time_axis(4)
    assert unit == "time (ms)" and list(times) == [60.0, 220.0, 380.0, 540.0]  # centres of frames 0-3, 4-7...
    assert FeatureVisualization(extractor.model, "Mixed_4c").time_axis(2)[1] == "input frame"


def test_bad_indices_are_clear_errors(extractor, preprocessed):
    visualizer = FeatureVisualization(extractor.model, "Mixed_3b")
    activations = visualizer.get_intermediate_activations(preprocessed)
    with pytest.raises(ValueError, match="outside 0..255"):
        visualizer.create_feature_activation_heatmap(activations, feature_idx=256)
    with pytest.raises(ValueError, match="frame_idx 9"):
        visualizer.visualize_layer_activations(activations, frame_idx=9)
    with pytest.raises(ValueError, match="unknown endpoint"):
        FeatureVisualization(extractor.model, "conv99")


def test_plotly_views_are_interactive_figures(extractor, preprocessed):
    visualizer = FeatureVisualization(extractor.model, "Mixed_4b", fps=25.0)
    activations = visualizer.get_intermediate_activations(preprocessed)
    assert len(visualizer.temporal_evolution_plotly(activations, [1, 2]).data) == 2
    surface = visualizer.activation_3d_plotly(activations, 5)
    assert surface.data[0].type == "surface" and surface.layout.scene.yaxis.title.text == "time (ms)"


def long_feature_set(windows: int = 1000) -> FeatureSet:
    rng = np.random.default_rng(0)
    drift = np.cumsum(rng.normal(0, 0.1, (windows, 32)), axis=0)
    return FeatureSet("long", drift.astype(np.float32), make_windows("long", windows * 8 + 8, 25.0, 16, 8)[:windows],
                      25.0, {})


def test_video_plots_stay_readable_at_1000_windows(tmp_path):
    feature_set = long_feature_set()
    for make in (features_time_heatmap, pca_trajectory_plot, similarity_matrix_plot):
        figure = make(feature_set)
        figure.savefig(tmp_path / f"{make.__name__}.png")
        assert imageio.imread(tmp_path / f"{make.__name__}.png").shape[0] > 300
        assert figure.axes[0].get_xlabel()  # labelled axes
    assert similarity_matrix_plotly(feature_set).data[0].z.shape == (300, 300)  # downsampled from 1000
    assert len(pca_trajectory_plotly(feature_set).data[0].x) == 500
    assert features_time_heatmap_plotly(feature_set).data[0].z.shape[1] == 300


def test_downsampling_and_similarity_maths():
    features = np.arange(10, dtype=np.float32).reshape(10, 1) * np.ones((1, 2))
    binned, times = downsample(features, np.arange(10.0), 5)
    np.testing.assert_allclose(binned[:, 0], [0.5, 2.5, 4.5, 6.5, 8.5])
    np.testing.assert_allclose(times, [0.5, 2.5, 4.5, 6.5, 8.5])
    similarity = cosine_similarity_matrix(np.array([[1.0, 0], [0, 2.0], [-3.0, 0]]))
    np.testing.assert_allclose(similarity, [[1, 0, -1], [0, 1, 0], [-1, 0, 1]])


def test_spatial_endpoint_features_are_plotted_as_channel_means():
    features = np.random.default_rng(0).random((5, 2, 3, 3, 4), dtype=np.float32)  # [N, T, H, W, C]
    np.testing.assert_allclose(channel_profile(features), features.mean(axis=(1, 2, 3)), rtol=1e-6)
    feature_set = FeatureSet("clip", features, make_windows("clip", 40, 25.0, 16, 6), 25.0, {})
    assert features_time_heatmap_plotly(feature_set).data[0].z.shape == (4, 5)  # channels x windows
    assert similarity_matrix_plotly(feature_set).data[0].z.shape == (5, 5)


def test_heatmap_plotly_has_a_time_slider(extractor, preprocessed):
    visualizer = FeatureVisualization(extractor.model, "Mixed_3c", fps=25.0)
    figure = visualizer.activation_heatmap_plotly(visualizer.get_intermediate_activations(preprocessed), 7)
    assert len(figure.frames) == 8 and figure.layout.sliders[0].currentvalue.prefix == "time (ms): "
