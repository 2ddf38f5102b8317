"""The dashboard's job kinds (for `core.jobs.JobRunner`): work on workspace videos.

- `flow`: stored flow of a video (I3D convention) plus a colour-coded H.264 preview at its fps.
- `features`: per-window features of a video with a registry model version (or the configured
  default), reusing the flow page's stored flow; optional Kinetics top-5 per window.
- `gallery`: the temporal views of `FeatureVisualization` for one window of a video, saved under
  `<workspace>/gallery/<video>/<layer>_w<window>_<features>/` with the activations (`.npy`).
- `evaluate`: the `FeatureExtractorEvaluator` report of a model version on a dataset (the generated
  camera-motion set, or the workspace's videos), in `<workspace>/evaluations/<dataset>/<run>/`.
- `fine_tune`: a new registry version fine-tuned from a version on a generated camera-motion set.
- `export`: a TensorFlow SavedModel added to a registry version.

A dataset is chosen by a small dict: `{"kind": "library"}` or `{"kind": "motions", "motions": [...],
"scenes": n, "frames": n}` (written once under `<workspace>/datasets/`).
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.extraction_jobs import evaluate_folder, find_sequences
from core.extractor import DynamicFeatureExtractor
from core.flow_pipeline import FlowJob, compute_video_flow
from core.flow_store import load_flow
from core.flow_viz import flow_to_color
from core.jobs import JobFunction, JobRunner, job_key
from core.model_registry import ModelRegistry
from core.motion_dataset import ensure_motion_dataset
from core.progress import no_progress
from core.sequences import cut_window, make_windows
from core.serialization import SAVED_MODEL_DIR, ModelSerializer
from core.settings import load_settings
from core.training import TrainingConfig, fine_tune
from core.visualization import FeatureVisualization
from core.video_writer import write_video
from core.workspace import Workspace

Progress = Callable[[int, int | None, str], None]
MODEL_NAME = "dynamic_feature_extractor"


def flow_preview_path(workspace: Workspace, method: str, video_stem: str) -> Path:
    return workspace.flow_dir(method) / f"{video_stem}_color.mp4"


def preview_scale(flow: np.ndarray) -> float:
    """A magnitude for full saturation shared by all frames: the 99th percentile (pixels)."""
    magnitudes = np.hypot(flow[::max(1, len(flow) // 32), ..., 0], flow[::max(1, len(flow) // 32), ..., 1])
    return max(float(np.percentile(magnitudes, 99)), 0.5)


def flow_job(workspace: Workspace) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        video = workspace.video(params["video"])
        method = params["method"]
        job = FlowJob(method=method, params=params.get("params", {}), i3d=True)
        result = compute_video_flow(video, workspace.flow_dir(method), job,
                                    lambda done, total: progress(done, total, "optical flow"))
        flow, record = load_flow(workspace.flow_dir(method), video.stem)
        scale = preview_scale(flow)
        preview = flow_preview_path(workspace, method, video.stem)
        if not result.skipped or not preview.exists():
            progress(0, len(flow), "colour preview")
            write_video(preview, (flow_to_color(f, scale) for f in flow), record.fps)
        return {"method": method, "frames": record.num_flow_frames, "fps": record.fps,
                "preview": str(preview), "scale": scale, "reused": result.skipped}
    return run


def model_loader(model_dir: str) -> Callable[[str], Any]:
    """Registry models by version or alias (resolved at each call, so a moved alias is followed),
    each version loaded once in this process; loads are serialised by a lock."""
    models: dict[str, Any] = {}
    lock = threading.Lock()

    def model_for(version_or_alias: str):
        version = ModelRegistry(model_dir, MODEL_NAME).resolve(version_or_alias)
        with lock:
            if version not in models:
                models[version] = ModelSerializer.load_model(model_dir, MODEL_NAME, version)[0]
            return models[version]
    return model_for


def features_job(workspace: Workspace, model_for: Callable[[str], Any]) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        video = workspace.video(params["video"])
        config = ExtractorConfig(
            model=ModelSection(sequence_length=params["sequence_length"], stride=params["stride"],
                               endpoint=params["endpoint"], rgb="predictions" if params["rgb"] else "off"),
            inference=InferenceSection(precision=params.get("precision", "auto")),
            flow=FlowSection(method=params["flow_method"]))
        extractor = DynamicFeatureExtractor(config=config, model=model_for(params["version"]))
        result = extractor.extract_video(
            video, output_dir=workspace.features_dir, flow_dir=workspace.flow_dir(params["flow_method"]),
            progress=lambda done, total: progress(done, total, "features"),
            flow_progress=lambda done, total: progress(done, total, "optical flow"))
        return {"windows": len(result.windows), "shape": list(result.features.shape), "version": params["version"]}
    return run


def gallery_folder(workspace: Workspace, video_stem: str, layer: str, window: int, features: list[int]) -> Path:
    return workspace.root / "gallery" / video_stem / f"{layer}_w{window}_{'-'.join(map(str, features))}"


def gallery_job(workspace: Workspace, model_for: Callable[[str], Any]) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        video = workspace.video(params["video"])
        method, layer, window_index = params["flow_method"], params["layer"], params["window"]
        indices = list(params["features"])
        progress(0, 7, "optical flow")
        compute_video_flow(video, workspace.flow_dir(method), FlowJob(method=method, i3d=True))
        flow, record = load_flow(workspace.flow_dir(method), video.stem)
        windows = make_windows(video.stem, len(flow), record.fps, params["sequence_length"], params["sequence_length"])
        window = windows[min(window_index, len(windows) - 1)]
        extractor = DynamicFeatureExtractor(config=ExtractorConfig(inference=InferenceSection(precision="float32")),
                                            model=model_for(params["version"]))
        clip = extractor.preprocess_flow_sequence(cut_window(flow, window))
        visualizer = FeatureVisualization(extractor.model, layer, fps=record.fps)
        activations = visualizer.get_intermediate_activations(clip)
        folder = gallery_folder(workspace, video.stem, visualizer.layer_name, window.index, indices)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "activations.npy", activations[0])
        visualizer.save_views(activations, indices, folder, flow_sequence=clip,
                              progress=lambda done, total: progress(done, total, "drawing"))
        return {"folder": str(folder), "window": window.to_dict(), "layer": visualizer.layer_name, "fps": record.fps}
    return run


def dataset_name(spec: dict[str, Any]) -> str:
    """A folder name for a dataset choice (see module docstring)."""
    if spec["kind"] == "library":
        return "library"
    return f"motions-{len(spec['motions'])}x{spec['scenes']}-f{spec['frames']}-{job_key('dataset', spec)[:6]}"


def dataset_folder(workspace: Workspace, spec: dict[str, Any]) -> Path:
    """The data folder of a dataset choice: the workspace's videos (unlabelled), or the generated
    camera-motion set (one folder per motion), written on first use."""
    if spec["kind"] == "library":
        return workspace.videos_dir
    return ensure_motion_dataset(workspace.datasets_dir / dataset_name(spec), spec["motions"], spec["scenes"],
                                 spec["frames"])


def evaluation_folder(workspace: Workspace, params: dict[str, Any]) -> Path:
    return (workspace.evaluations_dir / dataset_name(params["dataset"]) /
            f"{params['version']}-{params['flow_method']}-T{params['sequence_length']}")


def _extractor_config(params: dict[str, Any]) -> ExtractorConfig:
    return ExtractorConfig(model=ModelSection(sequence_length=params["sequence_length"],
                                              stride=params.get("stride", params["sequence_length"])),
                           flow=FlowSection(method=params["flow_method"]))


def evaluate_job(workspace: Workspace, model_for: Callable[[str], Any]) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        progress(0, None, "preparing the dataset")
        data_dir = dataset_folder(workspace, params["dataset"])
        extractor = DynamicFeatureExtractor(config=_extractor_config(params), model=model_for(params["version"]))
        inputs = {s.name: number for number, s in enumerate(find_sequences(data_dir))}

        def progress_for(sequence):
            progress(inputs[sequence.name], len(inputs), "features")
            return no_progress
        progress(len(inputs), len(inputs), "metrics")
        report = evaluate_folder(extractor, data_dir, evaluation_folder(workspace, params), progress_for)
        return {"report": str(report)}
    return run


def fine_tune_job(workspace: Workspace, model_dir: str) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        progress(0, None, "preparing the dataset")
        data_dir = dataset_folder(workspace, params["dataset"])
        model = ModelSerializer.load_model(model_dir, MODEL_NAME, params["version"])[0]  # a copy: trained in place
        extractor = DynamicFeatureExtractor(config=_extractor_config(params), model=model)
        progress(0, params["epochs"], "flow and cached activations")
        result = fine_tune(extractor, data_dir, workspace.training_dir / uuid.uuid4().hex[:12],
                           TrainingConfig(epochs=params["epochs"], learning_rate=params["learning_rate"]),
                           model_dir=model_dir, progress=lambda done, total: progress(done, total, "epochs"),
                           metadata={"description": params["description"], "parent_version": params["version"],
                                     "weights_source": f"fine_tuned_from:{params['version']}",
                                     **({"author": params["author"]} if params.get("author") else {})})
        return {"version": Path(result.version_path).name, "metrics": result.metrics}
    return run


def export_job(model_dir: str, model_for: Callable[[str], Any]) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        registry = ModelRegistry(model_dir, MODEL_NAME)
        progress(0, 1, "exporting a SavedModel")
        model = model_for(params["version"])
        registry.add_files(params["version"], lambda tmp: ModelSerializer.export_for_inference(model, tmp / SAVED_MODEL_DIR))
        return {"path": str(registry.path(params["version"]) / SAVED_MODEL_DIR)}
    return run


def workspace_runner(workspace: Workspace, model_dir: str | None = None) -> JobRunner:
    """A runner with every dashboard job kind, its state in `<workspace>/jobs`."""
    model_dir = model_dir or str(load_settings().model_dir)
    model_for = model_loader(model_dir)
    return JobRunner(workspace.jobs_dir, {"flow": flow_job(workspace), "features": features_job(workspace, model_for),
                                          "gallery": gallery_job(workspace, model_for),
                                          "evaluate": evaluate_job(workspace, model_for),
                                          "fine_tune": fine_tune_job(workspace, model_dir),
                                          "export": export_job(model_dir, model_for)})
