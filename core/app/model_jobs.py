"""The dashboard's job kinds that need a model (see `core.app.job_kinds` for what each does): they
import TensorFlow, so `core.app.job_kinds` imports this module only when one of them first runs."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.app.jobs import JobFunction, Progress
from core.app.workspace import GALLERY_ACTIVATIONS, Workspace, video_id
from core.common.progress import no_progress
from core.evaluation.reports import evaluate_folder
from core.features.config import ExtractorConfig, FlowSection, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor
from core.features.folders import find_sequences
from core.features.sequences import cut_window, make_windows
from core.flow.pipeline import FlowJob, compute_video_flow
from core.flow.store import load_flow
from core.registry.serializer import ModelSerializer
from core.registry.versions import MODEL_NAME, ModelRegistry
from core.training.curriculum import ensure_object_motion_dataset
from core.training.fine_tune import TrainingConfig, fine_tune
from core.training.motion_dataset import ensure_motion_dataset
from core.viz.visualization import FeatureVisualization



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
            flow_progress=lambda done, total: progress(done, total, "optical flow"), name=video_id(video))
        return {"windows": len(result.windows), "shape": list(result.features.shape), "version": params["version"]}
    return run


def gallery_job(workspace: Workspace, model_for: Callable[[str], Any]) -> JobFunction:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        video = workspace.video(params["video"])
        method, layer, window_index = params["flow_method"], params["layer"], params["window"]
        indices, name = list(params["features"]), video_id(video)
        progress(0, 7, "optical flow")
        compute_video_flow(video, workspace.flow_dir(method), FlowJob(method=method, i3d=True), name=name)
        flow, record = load_flow(workspace.flow_dir(method), name)
        windows = make_windows(name, len(flow), record.fps, params["sequence_length"], params["sequence_length"])
        window = windows[min(window_index, len(windows) - 1)]
        extractor = DynamicFeatureExtractor(config=ExtractorConfig(inference=InferenceSection(precision="float32")),
                                            model=model_for(params["version"]))
        clip = extractor.preprocess_flow_sequence(cut_window(flow, window))
        visualizer = FeatureVisualization(extractor.model, layer, fps=record.fps)
        activations = visualizer.get_intermediate_activations(clip)
        folder = workspace.gallery_folder(name, visualizer.layer_name, window.index, indices)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / GALLERY_ACTIVATIONS, activations[0])
        visualizer.save_views(activations, indices, folder, flow_sequence=clip,
                              progress=lambda done, total: progress(done, total, "drawing"))
        return {"folder": str(folder), "window": window.to_dict(), "layer": visualizer.layer_name, "fps": record.fps}
    return run


def dataset_folder(workspace: Workspace, spec: dict[str, Any]) -> Path:
    """The data folder of a dataset choice (`Workspace.dataset_dir`); a generated set is written on
    first use."""
    folder = workspace.dataset_dir(spec)
    if spec["kind"] == "library":
        return folder
    ensure = ensure_motion_dataset if spec["kind"] == "motions" else ensure_object_motion_dataset
    return ensure(folder, spec["motions"], spec["scenes"], spec["frames"])


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
        output = workspace.evaluation_dir(params["dataset"], params["version"], params["flow_method"],
                                          params["sequence_length"])
        report = evaluate_folder(extractor, data_dir, output, progress_for)
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
        progress(0, 1, "exporting a SavedModel")
        folder = ModelSerializer.add_saved_model(model_for(params["version"]), model_dir, params["version"], MODEL_NAME)
        return {"path": str(folder)}
    return run


def import_job(model_dir: str) -> JobFunction:
    """A legacy full-model `.h5` (a file the page saved) converted into a new registry version."""
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        progress(0, 1, "converting to .keras")
        path = Path(params["path"])
        try:
            return {"version": Path(ModelSerializer.import_legacy_h5(path, model_dir, MODEL_NAME)).name}
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)  # the upload's own temporary folder
    return run


def model_job_kinds(workspace_root: str, model_dir: str) -> dict[str, JobFunction]:
    """The job kinds that need a model (`core.app.job_kinds.MODEL_KINDS`) over the workspace at
    `workspace_root`, sharing one model loader."""
    workspace = Workspace(workspace_root)
    model_for = model_loader(model_dir)
    return {"features": features_job(workspace, model_for),
            "gallery": gallery_job(workspace, model_for), "evaluate": evaluate_job(workspace, model_for),
            "fine_tune": fine_tune_job(workspace, model_dir), "export": export_job(model_dir, model_for),
            "import_h5": import_job(model_dir)}
