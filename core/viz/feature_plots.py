"""Plots of a video's per-window features: features x time heatmap, PCA trajectory of the windows,
and the window-to-window cosine similarity matrix. Time is the window's centre in ms. Long videos
are downsampled (windows averaged into at most `max_points` bins) so 1000 windows stay readable.
A spatial endpoint's features are reduced to their per-channel means first (`channel_profile`).

Each function returns a matplotlib `Figure` and has a plotly twin (`*_plotly`) for the dashboard.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from core.features.similarity import cosine_similarity_matrix
from core.features.store import FeatureSet


def window_centres_ms(feature_set: FeatureSet) -> np.ndarray:
    """`[N]` centre time of each window in ms."""
    return np.array([(w.start_ms + w.end_ms) / 2 for w in feature_set.windows])


def downsample(features: np.ndarray, times: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive windows into at most `max_points` bins: (`[M, D]`, `[M]` times)."""
    if len(features) <= max_points:
        return features, times
    bins = np.array_split(np.arange(len(features)), max_points)
    return (np.stack([features[b].mean(axis=0) for b in bins]), np.array([times[b].mean() for b in bins]))


def channel_profile(features: np.ndarray) -> np.ndarray:
    """`[N, C]` features of N windows: a spatial endpoint's `[N, T, H, W, C]` averaged over time and
    space (one value per channel and window); `[N, C]` features as they are."""
    features = np.asarray(features, np.float32)
    return features.mean(axis=tuple(range(1, features.ndim - 1))) if features.ndim > 2 else features


def _features_2d(feature_set: FeatureSet) -> np.ndarray:
    return channel_profile(feature_set.features)


def _binned(feature_set: FeatureSet, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The set's `[N, D]` features and window centres (ms), downsampled to at most `max_points`."""
    return downsample(_features_2d(feature_set), window_centres_ms(feature_set), max_points)


def _most_variable(features: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` feature dimensions that vary most over time (sorted)."""
    return np.sort(np.argsort(-features.var(axis=0))[:count])


def pca_trajectory(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(`[N, 2]` PCA coordinates, explained variance ratios) of `[N, D]` features."""
    if len(features) < 2:
        return np.zeros((len(features), 2)), np.zeros(2)
    components = min(2, len(features), features.shape[1])
    pca = PCA(n_components=components).fit(features)
    coordinates = np.zeros((len(features), 2))
    coordinates[:, :components] = pca.transform(features)
    ratios = np.zeros(2)
    ratios[:components] = pca.explained_variance_ratio_
    return coordinates, ratios


def features_time_heatmap(feature_set: FeatureSet, max_points: int = 300, dimensions: int = 64) -> Figure:
    """The `dimensions` most variable features (rows) over the windows' time (columns)."""
    features, times = _binned(feature_set, max_points)
    chosen = _most_variable(features, dimensions)
    figure = Figure(figsize=(10, 5))
    axis = figure.subplots()
    image = axis.imshow(features[:, chosen].T, aspect="auto", cmap="viridis", origin="lower",
                        extent=[times[0], times[-1], 0, len(chosen)])
    axis.set_xlabel("window centre (ms)")
    axis.set_ylabel(f"feature (the {len(chosen)} most variable)")
    axis.set_title(f"{feature_set.name}: features over time ({len(feature_set.windows)} windows)")
    figure.colorbar(image, ax=axis, label="feature value")
    return figure


def pca_trajectory_plot(feature_set: FeatureSet, max_points: int = 500) -> Figure:
    """The windows as a path in the plane of the first two principal components, coloured by time."""
    features, times = _binned(feature_set, max_points)
    coordinates, ratios = pca_trajectory(features)
    figure = Figure(figsize=(6, 5))
    axis = figure.subplots()
    axis.plot(coordinates[:, 0], coordinates[:, 1], color="0.7", linewidth=0.8, zorder=1)
    points = axis.scatter(coordinates[:, 0], coordinates[:, 1], c=times, cmap="plasma", s=18, zorder=2)
    axis.set_xlabel(f"PC 1 ({ratios[0]:.0%} of variance)")
    axis.set_ylabel(f"PC 2 ({ratios[1]:.0%} of variance)")
    axis.set_title(f"{feature_set.name}: trajectory of the windows")
    figure.colorbar(points, ax=axis, label="window centre (ms)")
    return figure


def similarity_matrix_plot(feature_set: FeatureSet, max_points: int = 300) -> Figure:
    """Cosine similarity between every pair of windows (time on both axes); the colour scale runs
    from the lowest similarity present to 1, so small differences between similar windows show."""
    features, times = _binned(feature_set, max_points)
    similarity = cosine_similarity_matrix(features)
    figure = Figure(figsize=(6, 5))
    axis = figure.subplots()
    image = axis.imshow(similarity, cmap="viridis", vmin=float(similarity.min()), vmax=1.0, origin="lower",
                        extent=[times[0], times[-1], times[0], times[-1]])
    axis.set_xlabel("window centre (ms)")
    axis.set_ylabel("window centre (ms)")
    axis.set_title(f"{feature_set.name}: window-to-window cosine similarity")
    figure.colorbar(image, ax=axis, label="cosine similarity")
    return figure


def features_time_heatmap_plotly(feature_set: FeatureSet, max_points: int = 300, dimensions: int = 64) -> go.Figure:
    features, times = _binned(feature_set, max_points)
    chosen = _most_variable(features, dimensions)
    figure = go.Figure(go.Heatmap(z=features[:, chosen].T, x=times, y=[str(i) for i in chosen],
                                  colorscale="Viridis", colorbar={"title": "value"}))
    figure.update_layout(title=f"{feature_set.name}: features over time", xaxis_title="window centre (ms)",
                         yaxis_title="feature index")
    return figure


def pca_trajectory_plotly(feature_set: FeatureSet, max_points: int = 500) -> go.Figure:
    features, times = _binned(feature_set, max_points)
    coordinates, ratios = pca_trajectory(features)
    figure = go.Figure(go.Scatter(x=coordinates[:, 0], y=coordinates[:, 1], mode="lines+markers",
                                  marker={"color": times, "colorscale": "Plasma", "colorbar": {"title": "ms"}},
                                  text=[f"{t:.0f} ms" for t in times], line={"color": "lightgray"}))
    figure.update_layout(title=f"{feature_set.name}: trajectory of the windows",
                         xaxis_title=f"PC 1 ({ratios[0]:.0%})", yaxis_title=f"PC 2 ({ratios[1]:.0%})")
    return figure


def similarity_matrix_plotly(feature_set: FeatureSet, max_points: int = 300) -> go.Figure:
    features, times = _binned(feature_set, max_points)
    similarity = cosine_similarity_matrix(features)
    figure = go.Figure(go.Heatmap(z=similarity, x=times, y=times, colorscale="Viridis",
                                  zmin=float(similarity.min()), zmax=1.0, colorbar={"title": "cosine"}))
    figure.update_layout(title=f"{feature_set.name}: window-to-window cosine similarity",
                         xaxis_title="window centre (ms)", yaxis_title="window centre (ms)")
    return figure
