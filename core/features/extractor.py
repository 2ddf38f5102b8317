"""`DynamicFeatureExtractor`: I3D flow-stream features for flow sequences and whole videos.

    extractor = DynamicFeatureExtractor()                      # or config_path="config/...yaml"
    clips = extractor.preprocess_flow_sequence(flow)            # [T, H, W, 2] px -> [1, T, 224, 224, 2]
    features = extractor.extract_features(clips)                # [B, 1024] (endpoint Features)
    feature_set = extractor.extract_video("clip.mp4", output_dir="results/features")

Every window is computed on its own (BatchNorm in inference mode, no state between windows), so a
window's features do not depend on the batch or on the rest of the video; `model.window_mode: shared`
trades that for speed (`core.features.shared_windows`).
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import nullcontext
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import keras
import numpy as np
import tensorflow as tf

from core.features.config import ExtractorConfig, load_config
from core.model.endpoints import MIN_FRAMES, resolve_endpoint
from core.errors import DFEError, FlowShapeError, SequenceError
from core.features.store import FeatureSet, read_features, write_features
from core.weights.digest import weights_sha256
from core.weights.flow_stream import build_flow_i3d, read_weights_metrics
from core.flow.pipeline import FlowJob, VideoFlow
from core.model.i3d import endpoint_model, pooled_model
from core.registry.versions import MODEL_NAME
from core.common.progress import ProgressCallback, no_progress
from core.features.rgb_stream import RGBStream, rgb_frame, top_k
from core.registry.serializer import ModelSerializer
from core.features.sequences import Window, make_windows, preprocess_flow
from core.features.shared_windows import SharedWindows
from core.features.streaming import BatchedForward, WindowCutter, WindowForward
from core.video.decode import VideoInfo


class DeviceError(DFEError):
    """The configured device is not available."""


def cpu_has_bfloat16() -> bool:
    """True if this CPU computes bfloat16 natively (AVX512_BF16 or AMX), read from /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def compute_policy(model: keras.Model) -> str:
    """The dtype policy a built I3D computes in: that of its convolutions (the model object's own
    policy stays float32 under mixed precision)."""
    return next(layer.dtype_policy.name for layer in model.layers if isinstance(layer, keras.layers.Conv3D))


def gpu_precision(compute_capability: tuple[int, int] | None) -> str:
    """The mixed precision a GPU of this CUDA compute capability runs fastest: bfloat16 tensor cores
    from 8.0 (Ampere, Hopper), float16 ones from 7.0 (Volta, Turing), float32 before or if unknown."""
    if compute_capability is None or tuple(compute_capability) < (7, 0):
        return "float32"
    return "mixed_bfloat16" if tuple(compute_capability) >= (8, 0) else "mixed_float16"


def resolve_precision(precision: str, device: str) -> str:
    """The Keras dtype policy for `precision`. "auto": on the first GPU TensorFlow sees (unless
    `device` is "cpu"), its mixed precision (`gpu_precision`); on a CPU with native bfloat16,
    mixed_bfloat16 (measured: ~1.7x float32, features within cosine 0.9999,
    benchmarks/extractor_speed.py); else float32. mixed_float16 needs a GPU."""
    gpus = tf.config.list_physical_devices("GPU") if device != "cpu" else []
    if precision == "mixed_float16" and not gpus:
        raise DeviceError("inference.precision mixed_float16 needs a GPU (TensorFlow's CPU kernels have no "
                          "float16 3D pooling); on a CPU use mixed_bfloat16 or float32")
    if precision != "auto":
        return precision
    if gpus:
        return gpu_precision(tf.config.experimental.get_device_details(gpus[0]).get("compute_capability"))
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"


def _device_scope(device: str):
    """A TensorFlow device scope for "cpu"/"gpu", or no scope for "auto" (GPU if present)."""
    if device == "cpu":
        return tf.device("/CPU:0")
    if device == "gpu":
        if not tf.config.list_physical_devices("GPU"):
            raise DeviceError("inference.device is 'gpu' but TensorFlow sees no GPU; use 'auto' or 'cpu'")
        return tf.device("/GPU:0")
    return nullcontext()


class DynamicFeatureExtractor:
    """I3D flow-stream feature extractor configured by `config/dynamic_model_config.yaml`.

    Args:
        config_path: a YAML config; None uses the defaults of `core.features.config.ExtractorConfig`.
        config: an `ExtractorConfig` instead of a file.
        model: a ready I3D `keras.Model` (e.g. loaded from the registry) instead of building one
            from `config.model.weights`.

    Attributes:
        model: the whole I3D (every endpoint reachable by name, e.g. for `FeatureVisualization`).
        endpoint: the canonical endpoint whose output `extract_features` returns.
    """

    def __init__(self, config_path: str | os.PathLike | None = None, config: ExtractorConfig | None = None,
                 model: keras.Model | None = None) -> None:
        self.config = config or load_config(config_path)
        settings = self.config.model
        self.endpoint = resolve_endpoint(settings.endpoint)
        # A given model computes in its layers' dtype policy (registry models are float32).
        self.precision = (compute_policy(model) if model is not None else
                          resolve_precision(self.config.inference.precision, self.config.inference.device))
        precision = self.precision
        with _device_scope(self.config.inference.device):
            self.model = model or build_flow_i3d(settings.weights, settings.seed, settings.channels,
                                                 settings.input_size,
                                                 dtype=None if precision == "float32" else precision,
                                                 weights_path=settings.weights_path)
            self._endpoint_model = endpoint_model(self.model, self.endpoint)
        # One trace for every batch size and window length (a short last batch would trace again).
        clips = tf.TensorSpec([None, None, *self.model.input.shape[2:]], tf.float32)
        self._forward = tf.function(lambda x: self._endpoint_model(x, training=False), input_signature=[clips])
        if settings.window_mode == "shared":
            pooled = pooled_model(self.model)
            self._pooled = tf.function(lambda x: pooled(x, training=False), input_signature=[clips])
        self._lock = threading.Lock()  # one forward pass at a time per extractor
        self._rgb: RGBStream | None = None  # loaded on first use

    @property
    def weights_digest(self) -> str:
        """sha256 of the model's weight values as they are now (~0.1 s): which values compute the
        features, whatever their source, and after training in place too."""
        return weights_sha256(self.model)

    @property
    def input_channels(self) -> int:
        return int(self.model.input.shape[-1])

    def settings(self) -> dict[str, Any]:
        """What determines the features (stored with them, compared before reusing them)."""
        model = self.config.model
        return {"endpoint": self.endpoint, "weights": model.weights, "weights_path": model.weights_path,
                "weights_sha256": self.weights_digest,
                "seed": model.seed, "rgb": model.rgb,
                "sequence_length": model.sequence_length, "stride": model.stride, "feature_fps": model.feature_fps,
                "input_size": model.input_size, "window_mode": model.window_mode, "precision": self.precision,
                "model_name": self.model.name}

    def save_model_with_serializer(self, base_dir: str | os.PathLike, metadata: dict[str, Any] | None = None,
                                   model_name: str = MODEL_NAME, export: bool = False) -> str:
        """Save `model` as a new registry version (see `core.registry.serializer`) with this extractor's
        config, weights source and, for weights trained here, their measured metrics; returns the
        version's folder."""
        settings = self.config.model
        adaptation = read_weights_metrics(settings.weights)
        recorded = {"config": _jsonable(asdict(self.config)),
                    "weights_source": settings.weights if settings.weights != "checkpoint" else
                    f"checkpoint:{settings.weights_path}",
                    "metrics": {k: v for k, v in adaptation.items() if k.endswith("accuracy")},
                    "adaptation": adaptation, **(metadata or {})}
        return ModelSerializer(self.model, model_name).save_model(base_dir, recorded, export=export)

    def preprocess_flow_sequence(self, flow_sequence: np.ndarray) -> np.ndarray:
        """I3D preprocessing of pixel flow.

        Args:
            flow_sequence: `[T, H, W, 2]` or `[B, T, H, W, 2]` float, pixels.
        Returns `[B, T, S, S, 2] float32` in [-1, 1], S = `model.input_size` (224).
        """
        flow = np.asarray(flow_sequence)
        if flow.ndim == 4:
            flow = flow[None]
        if flow.ndim != 5 or flow.shape[-1] != 2:
            raise FlowShapeError(f"flow must be [T, H, W, 2] or [B, T, H, W, 2], got {flow.shape}")
        size = self.config.model.input_size
        return np.stack([preprocess_flow(clip, crop_size=size) for clip in flow])

    def _check_clips(self, clips: np.ndarray) -> np.ndarray:
        clips = np.asarray(clips, dtype=np.float32)
        size = self.config.model.input_size
        expected = f"[B, T, {size}, {size}, {self.input_channels}]"
        if clips.ndim != 5 or clips.shape[2:] != (size, size, self.input_channels):
            raise FlowShapeError(f"model input must be {expected} (use preprocess_flow_sequence), "
                                 f"got {clips.shape}")
        if clips.shape[1] < MIN_FRAMES:
            raise SequenceError(f"windows of {clips.shape[1]} frames are below I3D's minimum of {MIN_FRAMES}")
        if not np.isfinite(clips).all():
            raise FlowShapeError("model input contains NaN or infinite values")
        return clips

    def extract_features(self, preprocessed: np.ndarray, progress: ProgressCallback = no_progress) -> np.ndarray:
        """Features of preprocessed windows `[B, T, S, S, C]` -> `[B, D] float32` (D = 1024 for
        Features; a spatial endpoint gives its full `[B, t, h, w, c]` output), in batches of
        `inference.batch_size`."""
        clips = self._check_clips(preprocessed)
        batch_size = self.config.inference.batch_size
        outputs = []
        with self._lock, _device_scope(self.config.inference.device):
            for start in range(0, len(clips), batch_size):
                batch = tf.constant(clips[start:start + batch_size])
                outputs.append(np.asarray(self._forward(batch), dtype=np.float32))
                progress(min(start + batch_size, len(clips)), len(clips))
        return np.concatenate(outputs)

    def extract_flow(self, flow: np.ndarray, fps: float, name: str = "sequence",
                     progress: ProgressCallback = no_progress) -> FeatureSet:
        """Per-window features of one pixel flow sequence `[T, H, W, 2]` at `fps`."""
        windows = make_windows(name, len(flow), fps, self.config.model.sequence_length, self.stride(fps))
        window_features = self._window_features(windows, progress)
        for flow_frame in flow:
            window_features.push(flow_frame)
        return FeatureSet(name, window_features.features(), windows, fps, self.settings())

    def stride(self, fps: float) -> int:
        """Frames between window starts for flow at `fps`: `model.stride`, or with
        `model.feature_fps` the stride that gives that many features per second (at least 1)."""
        feature_fps = self.config.model.feature_fps
        return self.config.model.stride if feature_fps is None else max(1, round(fps / feature_fps))

    def _window_features(self, windows: list[Window], progress: ProgressCallback) -> WindowForward | SharedWindows:
        """What turns pushed pixel flow frames into the features of `windows` (`model.window_mode`)."""
        prepare = partial(preprocess_flow, crop_size=self.config.model.input_size)
        if self.config.model.window_mode == "shared":
            return SharedWindows(windows, prepare, self._shared_features, self.extract_features, progress)
        return WindowForward(windows, prepare, self.extract_features, self.config.inference.batch_size, progress)

    def _shared_features(self, chunk: np.ndarray) -> np.ndarray:
        """`[1, 8P, S, S, 2]` preprocessed flow -> `[P - 1, 1024] float32`: the `Features` of its
        16-frame windows every 8 frames, from one forward pass (`core.features.shared_windows`)."""
        clips = self._check_clips(chunk)
        with self._lock, _device_scope(self.config.inference.device):
            pooled = np.asarray(self._pooled(tf.constant(clips)), dtype=np.float32)
        return pooled.reshape(pooled.shape[1], -1)

    def extract_video(self, video_path: str | os.PathLike, output_dir: str | os.PathLike | None = None,
                      flow_dir: str | os.PathLike | None = None, progress: ProgressCallback = no_progress,
                      flow_progress: ProgressCallback = no_progress, flow_job: FlowJob | None = None,
                      flow_storage: str | None = None, name: str | None = None,
                      info: VideoInfo | None = None) -> FeatureSet:
        """Per-window features of a video, in one pass: the video is decoded once, flow (I3D
        convention, `flow.method`) is computed pair by pair, and each window goes through I3D as soon
        as its flow is there; the RGB stream (`model.rgb`) takes its frames from the same decode.

        Flow is kept only where asked: in `flow_dir` (default `<output_dir>/flow`; nowhere without
        either), in the format `flow_storage` (default `flow.storage`: npy, npy16, jpg, flo, or none to
        keep no flow), where a re-run reuses it. With `output_dir`, features are written there (see
        `core.features.store`) and a re-run with the same settings returns them without recomputing.
        `flow_job` replaces the config's flow settings (e.g. method parameters, or fewer threads per
        video in a batch). The flow and the features are called `name` (default: the video's stem).
        `info`: the video's `probe_video` result if the caller has it. Memory stays flat in the
        video's length.
        """
        video_path = Path(video_path)
        storage = flow_storage or self.config.flow.storage
        if flow_dir is None and output_dir is not None:
            flow_dir = Path(output_dir) / "flow"
        job = flow_job or FlowJob(method=self.config.flow.method, i3d=True, target_fps=self.config.flow.fps)
        name = name or video_path.stem
        flow = VideoFlow(video_path, replace(job, format=storage if storage != "none" else job.format),
                         flow_dir if storage != "none" else None, name=name, info=info)
        source = flow.record.source
        settings = {**self.settings(), "flow": flow.record.settings() | {"source": None},
                    "video": {"size": source.size, "mtime_ns": source.mtime_ns}}
        if output_dir is not None:  # the same video and settings: the stored features are the answer
            stored = read_features(output_dir, name)
            if stored is not None and stored.settings == _jsonable(settings):
                progress(len(stored.windows), len(stored.windows))
                return stored
        windows = make_windows(name, flow.record.num_flow_frames, flow.record.fps,
                               self.config.model.sequence_length, self.stride(flow.record.fps))
        window_features = self._window_features(windows, progress)
        decoded = self._decoded_with_rgb(flow, windows)
        for flow_frame in flow.frames(decoded, flow_progress):
            window_features.push(flow_frame)
        feature_set = FeatureSet(name, window_features.features(), windows, flow.record.fps, settings)
        if self.config.model.rgb != "off":
            for _ in decoded:  # flow was read back from disk: the RGB stream still needs the frames
                pass
            self._add_rgb_stream(feature_set, decoded.rgb_batches.outputs())
        if output_dir is not None:
            write_features(output_dir, feature_set)
        return feature_set

    def _decoded_with_rgb(self, flow: VideoFlow, windows: list[Window]) -> "_RGBTap":
        """The video's decoded frames for the flow; with the RGB stream on, each frame also feeds
        the RGB windows on its way."""
        if self.config.model.rgb != "off" and self._rgb is None:
            self._rgb = RGBStream()
        rgb_batches = BatchedForward(self._rgb.forward, self.config.inference.batch_size) \
            if self.config.model.rgb != "off" else None
        return _RGBTap(flow.decoded_frames(), WindowCutter(windows), rgb_batches)

    def _add_rgb_stream(self, feature_set: FeatureSet, outputs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Kinetics top-5 per window; for two_stream, features become [RGB 1024 | flow 1024]."""
        logits = np.concatenate([batch_logits for batch_logits, _ in outputs])
        feature_set.predictions = [[asdict(p) for p in top_k(row, self._rgb.labels)] for row in logits]
        if self.config.model.rgb == "two_stream":
            rgb_features = np.concatenate([batch_features for _, batch_features in outputs])
            feature_set.features = np.concatenate([rgb_features, feature_set.features], axis=1)


class _RGBTap:
    """Decoded frames passed through unchanged; with `rgb_batches`, each is also cut into the RGB
    stream's windows, which run through the RGB model as they complete."""

    def __init__(self, frames: Iterator[np.ndarray], windows: WindowCutter, rgb_batches: BatchedForward | None):
        self._frames, self._windows, self.rgb_batches = frames, windows, rgb_batches

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        frame = next(self._frames)
        if self.rgb_batches is not None and not self._windows.finished:
            for _, clip in self._windows.push(rgb_frame(frame)):
                self.rgb_batches.add(clip)
        return frame


def _jsonable(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples become lists, paths strings)."""
    return json.loads(json.dumps(value, default=str))
