"""`ActivationViews`: the views of one layer's activations over space and time, without a model
(no Keras import), so the dashboard can draw saved activations; `core.viz.visualization` adds the model.

Activations are `[B, t, h, w, c]` (one clip is used: index 0) from any endpoint or alias. The time
axis of a layer is coarser than the input's: step `i` of a layer with temporal stride `s` covers input
frames `i*s .. i*s + s - 1` (Conv3d_1a: s = 2; after MaxPool3d_4a: 4; after MaxPool3d_5a: 8), so
plots label time in input frames, and in milliseconds when `fps` is given.

Every method returns a matplotlib `Figure` (built without pyplot, safe in threads and servers) and
saves it as PNG (or GIF for the animation) when `save_path` is given; `*_plotly` twins return
interactive plotly figures for the dashboard.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import imageio.v2 as imageio
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from core.common.atomic import atomic_path
from core.errors import DFEError
from core.model.endpoints import resolve_endpoint
from core.viz.flow_images import flow_to_color
from core.model.architecture import temporal_stride


class ActivationShapeError(DFEError, ValueError):
    """Activations, channel indices or a frame index that do not fit the layer's output."""


def _save(figure: Figure, save_path: str | os.PathLike | None) -> Figure:
    if save_path is not None:
        with atomic_path(save_path) as tmp:
            figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return figure


def _sampled_steps(count: int, limit: int) -> np.ndarray:
    """At most `limit` evenly spread indices of `count` time steps, so long clips stay readable."""
    return np.unique(np.linspace(0, count - 1, min(count, limit)).round().astype(int))


def _clip(activations: np.ndarray) -> np.ndarray:
    """The first clip's activations as `[t, h, w, c]`."""
    activations = np.asarray(activations)
    if activations.ndim == 5:
        activations = activations[0]
    if activations.ndim != 4:
        raise ActivationShapeError(f"activations must be [B, t, h, w, c] or [t, h, w, c], got {activations.shape}")
    return activations


def channel_mosaic(maps: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Spatial maps `[h, w, c]` tiled row by row on a near-square grid, each scaled to 0..1 by its own
    min and max (a constant map is 0), with NaN between tiles (a gap of a quarter of a tile above, for
    its label, and an eighth beside): `([H, W] float64, (top, left) pixel of each tile)`."""
    height, width, count = maps.shape
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    low, high = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))
    scaled = (maps - low) / np.where(high > low, high - low, 1.0)
    step_y, step_x = height + max(1, round(height / 4)), width + max(1, round(width / 8))
    mosaic = np.full((rows * step_y, columns * step_x - (step_x - width)), np.nan)
    corners = [(step_y - height + (index // columns) * step_y, (index % columns) * step_x) for index in range(count)]
    for index, (top, left) in enumerate(corners):
        mosaic[top:top + height, left:left + width] = scaled[..., index]
    return mosaic, corners


class ActivationViews:
    """The views of one layer's activations, without a model (e.g. of activations saved earlier).

    Args:
        layer_name: an endpoint ("Mixed_3b") or alias ("inception_3a_concat").
        fps: frame rate of the input clip, to label time in ms as well as frames.
    """

    def __init__(self, layer_name: str = "Mixed_5c", fps: float | None = None) -> None:
        self.layer_name = resolve_endpoint(layer_name)
        self.fps = fps
        self.stride = temporal_stride(self.layer_name)

    def time_axis(self, steps: int) -> tuple[np.ndarray, str]:
        """Centre input frame of each layer time step (or ms with fps) and the axis label."""
        frames = np.arange(steps) * self.stride + (self.stride - 1) / 2
        if self.fps:
            return frames * 1000.0 / self.fps, "time (ms)"
        return frames, "input frame"

    def _check_features(self, activations: np.ndarray, indices: Sequence[int]) -> np.ndarray:
        clip = _clip(activations)
        bad = [i for i in indices if not 0 <= i < clip.shape[-1]]
        if bad:
            raise ActivationShapeError(f"feature indices {bad} are outside 0..{clip.shape[-1] - 1} of {self.layer_name}")
        return clip

    # ---- matplotlib views ---------------------------------------------------------------------

    def visualize_layer_activations(self, activations: np.ndarray, frame_idx: int = 0, max_channels: int = 64,
                                    save_path: str | os.PathLike | None = None) -> Figure:
        """A grid of the first `max_channels` channels' spatial maps at layer time step `frame_idx`, each
        scaled to its own range (`channel_mosaic`), drawn as one image: a 64-channel grid draws as
        fast as one map."""
        clip = _clip(activations)
        if not 0 <= frame_idx < len(clip):
            raise ActivationShapeError(f"frame_idx {frame_idx} is outside 0..{len(clip) - 1} of {self.layer_name}")
        count = min(max_channels, clip.shape[-1])
        mosaic, corners = channel_mosaic(clip[frame_idx, :, :, :count])
        width = 1.6 * len({left for _, left in corners})  # inches; the grid's aspect sets its height
        grid_height = width * mosaic.shape[0] / mosaic.shape[1]
        figure = Figure(figsize=(width, grid_height + 0.6))
        axis = figure.add_axes((0.0, 0.0, 1.0, grid_height / (grid_height + 0.6)))
        axis.imshow(np.ma.masked_invalid(mosaic), cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        for index, (top, left) in enumerate(corners):
            axis.text(left, top - 0.5, f"ch {index}", fontsize=7, va="bottom")
        axis.axis("off")
        time, unit = self.time_axis(len(clip))
        figure.suptitle(f"{self.layer_name}: {count} of {clip.shape[-1]} channels at step {frame_idx} "
                        f"({unit} {time[frame_idx]:.0f})")
        return _save(figure, save_path)

    def visualize_temporal_feature_evolution(self, activations: np.ndarray, feature_indices: Sequence[int],
                                             save_path: str | os.PathLike | None = None) -> Figure:
        """Line plot of each chosen channel's spatial mean activation over time."""
        clip = self._check_features(activations, feature_indices)
        time, unit = self.time_axis(len(clip))
        figure = Figure(figsize=(8, 4))
        axis = figure.subplots()
        for index in feature_indices:
            axis.plot(time, clip[..., index].mean(axis=(1, 2)), marker="o", label=f"feature {index}")
        axis.set_xlabel(unit)
        axis.set_ylabel("mean activation (ReLU output)")
        axis.set_title(f"{self.layer_name}: temporal evolution")
        axis.legend(loc="best", fontsize=8)
        axis.grid(alpha=0.3)
        return _save(figure, save_path)

    def create_feature_activation_heatmap(self, activations: np.ndarray, feature_idx: int,
                                          save_path: str | os.PathLike | None = None) -> Figure:
        """Where in space one channel fires, one panel per time step (at most 32, evenly spread), on
        one shared colour scale."""
        clip = self._check_features(activations, [feature_idx])[..., feature_idx]
        time, unit = self.time_axis(len(clip))
        steps = _sampled_steps(len(clip), 32)
        columns = min(len(steps), 8)
        rows = int(np.ceil(len(steps) / columns))
        figure = Figure(figsize=(2.0 * columns + 1, 2.0 * rows + 0.6))
        axes = figure.subplots(rows, columns, squeeze=False)
        vmax = float(clip.max()) or 1.0
        image = None
        for panel, axis in enumerate(axes.flat):
            axis.axis("off")
            if panel < len(steps):
                image = axis.imshow(clip[steps[panel]], cmap="inferno", vmin=0, vmax=vmax)
                axis.set_title(f"{unit.split(' ')[0]} {time[steps[panel]]:.0f}", fontsize=8)
        figure.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="activation")
        figure.suptitle(f"{self.layer_name}: feature {feature_idx} over space and time")
        return _save(figure, save_path)

    def visualize_3d_feature_activation(self, activations: np.ndarray, feature_idx: int,
                                        save_path: str | os.PathLike | None = None) -> Figure:
        """A surface of one channel over time x horizontal position (averaged over rows)."""
        clip = self._check_features(activations, [feature_idx])[..., feature_idx]
        time, unit = self.time_axis(len(clip))
        profile = clip.mean(axis=1)  # [t, w]
        grid_x, grid_t = np.meshgrid(np.arange(profile.shape[1]), time)
        figure = Figure(figsize=(8, 6))
        axis = figure.add_subplot(projection="3d")
        surface = axis.plot_surface(grid_t, grid_x, profile, cmap="viridis", linewidth=0)
        axis.set_xlabel(unit)
        axis.set_ylabel("horizontal position (layer cells)")
        axis.set_zlabel("activation")
        figure.colorbar(surface, ax=axis, shrink=0.6, label="activation")
        axis.set_title(f"{self.layer_name}: feature {feature_idx}, time x space")
        return _save(figure, save_path)

    def create_feature_evolution_animation(self, activations: np.ndarray, feature_idx: int,
                                           save_path: str | os.PathLike | None = None, size: int = 224,
                                           frame_ms: int = 250) -> list[np.ndarray]:
        """A GIF of one channel's map over time: one frame per layer step on a shared colour scale,
        each labelled with its time and a progress bar; returns the frames `[size, size, 3] uint8`."""
        clip = self._check_features(activations, [feature_idx])[..., feature_idx]
        time, unit = self.time_axis(len(clip))
        scaled = np.clip(clip / (clip.max() or 1.0) * 255, 0, 255).astype(np.uint8)
        frames = []
        for step, values in enumerate(scaled):
            frame = cv2.applyColorMap(cv2.resize(values, (size, size), interpolation=cv2.INTER_NEAREST),
                                      cv2.COLORMAP_INFERNO)
            cv2.rectangle(frame, (0, size - 6), (int(size * (step + 1) / len(scaled)), size), (255, 255, 255), -1)
            label = f"{self.layer_name} #{feature_idx}  {unit.split(' ')[0]} {time[step]:.0f}"
            cv2.putText(frame, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        if save_path is not None:
            with atomic_path(save_path) as tmp:
                imageio.mimsave(tmp, frames, format="GIF", duration=frame_ms, loop=0)
        return frames

    def create_comparative_temporal_view(self, activations: np.ndarray, feature_indices: Sequence[int],
                                         flow_sequence: np.ndarray | None = None,
                                         save_path: str | os.PathLike | None = None) -> Figure:
        """Each chosen channel's spatial map over time (rows = features; at most 16 evenly spread
        steps), with the colour-coded flow of the matching input frames as the first row when
        `flow_sequence` (`[B, T, H, W, 2]` or `[T, H, W, 2]`) is given."""
        clip = self._check_features(activations, feature_indices)
        time, unit = self.time_axis(len(clip))
        steps = _sampled_steps(len(clip), 16)
        flow = None if flow_sequence is None else np.asarray(flow_sequence)
        if flow is not None and flow.ndim == 5:
            flow = flow[0]
        rows = len(feature_indices) + (flow is not None)
        columns = len(steps)
        figure = Figure(figsize=(1.7 * columns + 1, 1.7 * rows + 0.6))
        axes = figure.subplots(rows, columns, squeeze=False)
        offset = 0
        if flow is not None:
            scale = float(np.abs(flow).max()) or 1.0
            for column, step in enumerate(steps):
                frame = min(step * self.stride + self.stride // 2, len(flow) - 1)  # centre input frame
                axes[0, column].imshow(flow_to_color(flow[frame], max_magnitude=scale))
                axes[0, column].set_title(f"{unit.split(' ')[0]} {time[step]:.0f}", fontsize=7)
            axes[0, 0].set_ylabel("flow", fontsize=8)
            offset = 1
        for row, index in enumerate(feature_indices, start=offset):
            vmax = float(clip[..., index].max()) or 1.0
            for column, step in enumerate(steps):
                axes[row, column].imshow(clip[step, :, :, index], cmap="magma", vmin=0, vmax=vmax)
            axes[row, 0].set_ylabel(f"feature {index}", fontsize=8)
        for axis in axes.flat:
            axis.set_xticks([])
            axis.set_yticks([])
        figure.suptitle(f"{self.layer_name}: features side by side over time")
        return _save(figure, save_path)

    def save_views(self, activations: np.ndarray, feature_indices: Sequence[int], folder: str | os.PathLike,
                   flow_sequence: np.ndarray | None = None, progress=lambda done, total: None) -> list[Path]:
        """Write the six views (channel grid, temporal evolution, heatmap, 3D, comparative, GIF) of
        `feature_indices` (the first one for single-feature views) into `folder`; returns the files.
        `progress(done, total)` is called after each view."""
        first = feature_indices[0]
        views = {"temporal_evolution.png": lambda p: self.visualize_temporal_feature_evolution(
                     activations, feature_indices, save_path=p),
                 "feature_heatmap.png": lambda p: self.create_feature_activation_heatmap(activations, first, save_path=p),
                 "feature_3d.png": lambda p: self.visualize_3d_feature_activation(activations, first, save_path=p),
                 "comparative_view.png": lambda p: self.create_comparative_temporal_view(
                     activations, feature_indices, flow_sequence=flow_sequence, save_path=p),
                 "feature_evolution.gif": lambda p: self.create_feature_evolution_animation(
                     activations, first, save_path=p),
                 "layer_activations.png": lambda p: self.visualize_layer_activations(activations, 0, save_path=p)}
        folder = Path(folder)
        for done, (name, draw) in enumerate(views.items(), start=1):
            draw(folder / name)
            progress(done, len(views))
        return [folder / name for name in views]

    # ---- plotly views (interactive) -------------------------------------------------------------

    def temporal_evolution_plotly(self, activations: np.ndarray, feature_indices: Sequence[int]) -> go.Figure:
        clip = self._check_features(activations, feature_indices)
        time, unit = self.time_axis(len(clip))
        figure = go.Figure([go.Scatter(x=time, y=clip[..., i].mean(axis=(1, 2)), mode="lines+markers",
                                       name=f"feature {i}") for i in feature_indices])
        figure.update_layout(title=f"{self.layer_name}: temporal evolution", xaxis_title=unit,
                             yaxis_title="mean activation")
        return figure

    def activation_3d_plotly(self, activations: np.ndarray, feature_idx: int) -> go.Figure:
        clip = self._check_features(activations, [feature_idx])[..., feature_idx]
        time, unit = self.time_axis(len(clip))
        figure = go.Figure(go.Surface(z=clip.mean(axis=1), x=np.arange(clip.shape[2]), y=time,
                                      colorscale="Viridis", colorbar={"title": "activation"}))
        figure.update_layout(title=f"{self.layer_name}: feature {feature_idx}, time x space",
                             scene={"xaxis_title": "horizontal position", "yaxis_title": unit,
                                    "zaxis_title": "activation"})
        return figure

    def activation_heatmap_plotly(self, activations: np.ndarray, feature_idx: int) -> go.Figure:
        """One channel's spatial map with a time slider (hover shows the value at each cell)."""
        clip = self._check_features(activations, [feature_idx])[..., feature_idx]
        time, unit = self.time_axis(len(clip))
        vmax = float(clip.max()) or 1.0
        frames = [go.Frame(data=[go.Heatmap(z=clip[step], zmin=0, zmax=vmax, colorscale="Inferno")],
                           name=f"{time[step]:.0f}") for step in range(len(clip))]
        figure = go.Figure(data=frames[0].data, frames=frames)
        figure.update_layout(
            title=f"{self.layer_name}: feature {feature_idx}", yaxis={"autorange": "reversed"},
            sliders=[{"currentvalue": {"prefix": f"{unit}: "},
                      "steps": [{"label": f.name, "method": "animate",
                                 "args": [[f.name], {"mode": "immediate", "frame": {"duration": 0}}]}
                                for f in frames]}])
        return figure
