"""Fine-tuning the flow stream on labelled clips laid out one folder per class.

    data_dir/<class>/<clip>.mp4 (any video)  or  data_dir/<class>/<clip>.npy (+ .json record; flow)

Every window of every clip becomes a training example labelled with its folder. The split into
training and validation is by clip (no window of a validation clip is trained on). The lower blocks
stay frozen and their activations are computed once; Mixed_5b, Mixed_5c and a classifier on
Features are trained with early stopping on the validation loss and a checkpoint per epoch. The
result is saved as a new registry version with its metrics and its dataset in the metadata.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.features.folders import DatasetError, class_folders
from core.training.adaptation import EpochProgress, cache_activations, train_upper_blocks
from core.flow.pipeline import FlowJob, compute_video_flow
from core.flow.store import load_flow
from core.evaluation.metrics import knn_loo_accuracy
from core.common.progress import ProgressCallback, no_progress
from core.features.sequences import OpticalFlowSequenceLoader, cut_window, make_windows, preprocess_flow
from core.video.decode import VIDEO_EXTENSIONS

BOUNDARY = "MaxPool3d_5a_2x2"


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 12
    batch_size: int = 8
    learning_rate: float = 1e-3
    validation_split: float = 0.25
    patience: int = 3
    seed: int = 0


@dataclass
class LabelledClips:
    """Preprocessed windows `[N, T, 224, 224, 2]`, their labels `[N]` and source clip index `[N]`."""

    clips: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    class_names: list[str]
    source_names: list[str]


def load_labelled_clips(data_dir: str | os.PathLike, extractor, flow_cache: str | os.PathLike,
                        progress: ProgressCallback = no_progress) -> LabelledClips:
    """Every window of every clip under the class folders, flow computed (or read) by the pipeline."""
    folders = class_folders(data_dir)
    if len(folders) < 2:
        raise DatasetError(f"{data_dir} needs at least two class folders of videos or flow files")
    settings = extractor.config.model
    job = FlowJob(method=extractor.config.flow.method, i3d=True, target_fps=extractor.config.flow.fps)
    files = [(label, f) for label, folder in enumerate(folders) for f in sorted(folder.iterdir())
             if f.suffix.lower() in (*VIDEO_EXTENSIONS, ".npy")]
    clips, labels, sources = [], [], []
    for source, (label, path) in enumerate(files):
        if path.suffix == ".npy":
            flow, fps = OpticalFlowSequenceLoader(path.parent).load(path)
        else:
            cache = Path(flow_cache) / folders[label].name
            compute_video_flow(path, cache, job)
            flow, record = load_flow(cache, path.stem)
            fps = record.fps
        for window in make_windows(path.stem, len(flow), fps, settings.sequence_length, settings.stride):
            clips.append(preprocess_flow(cut_window(flow, window), settings.input_size))
            labels.append(label)
            sources.append(source)
        progress(source + 1, len(files))
    return LabelledClips(np.stack(clips), np.array(labels), np.array(sources), [f.name for f in folders],
                         [str(p) for _, p in files])


def split_by_source(data: LabelledClips, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) window indices; each class keeps at least one clip on both sides."""
    rng = np.random.default_rng(seed)
    validation_sources = []
    for label in np.unique(data.labels):
        sources = np.unique(data.sources[data.labels == label])
        if len(sources) < 2:
            raise DatasetError(f"class {data.class_names[label]!r} needs at least two clips "
                               "(one for training, one for validation)")
        count = min(len(sources) - 1, max(1, round(len(sources) * fraction)))
        validation_sources += list(rng.choice(sources, count, replace=False))
    validation = np.isin(data.sources, validation_sources)
    return np.flatnonzero(~validation), np.flatnonzero(validation)


@dataclass
class TrainingResult:
    history: dict[str, list[float]]
    metrics: dict[str, float]
    class_names: list[str]
    checkpoint_dir: Path
    version_path: str | None = None


def fine_tune(extractor, data_dir: str | os.PathLike, output_dir: str | os.PathLike,
              config: TrainingConfig = TrainingConfig(), model_dir: str | os.PathLike | None = None,
              progress: ProgressCallback = no_progress, metadata: dict[str, Any] | None = None) -> TrainingResult:
    """Fine-tune `extractor.model` in place on `data_dir` (see module docstring); with `model_dir`,
    save the result as a registry version. Checkpoints go to `output_dir/checkpoints/`."""
    output_dir = Path(output_dir)
    data = load_labelled_clips(data_dir, extractor, output_dir / "flow")
    train, validation = split_by_source(data, config.validation_split, config.seed)
    activations = cache_activations(extractor.model, data.clips, BOUNDARY)
    checkpoint_dir = output_dir / "checkpoints"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [keras.callbacks.EarlyStopping("val_loss", patience=config.patience, restore_best_weights=True),
                 keras.callbacks.ModelCheckpoint(str(checkpoint_dir / "epoch_{epoch:02d}.weights.h5"),
                                                 save_weights_only=True),
                 EpochProgress(progress, config.epochs)]
    history = train_upper_blocks(extractor.model, activations[train], data.labels[train], len(data.class_names),
                                 BOUNDARY, config.epochs, config.batch_size, config.learning_rate, config.seed,
                                 validation=(activations[validation], data.labels[validation]),
                                 callbacks=callbacks)
    validation_features = extractor.extract_features(data.clips[validation])
    metrics = {"val_accuracy": max(history["val_accuracy"]), "train_accuracy": history["accuracy"][-1],
               "epochs_run": float(len(history["loss"])), "train_windows": float(len(train)),
               "val_windows": float(len(validation))}
    if len(validation) > 5:
        metrics["val_knn1_accuracy"] = knn_loo_accuracy(validation_features, data.labels[validation], 1)
    result = TrainingResult(history, metrics, data.class_names, checkpoint_dir)
    if model_dir is not None:
        result.version_path = extractor.save_model_with_serializer(model_dir, {
            "description": f"fine-tuned on {Path(data_dir).name}", "training_dataset": str(data_dir),
            "metrics": metrics, "classes": data.class_names, "training": asdict(config),
            "weights_source": f"fine_tuned_from:{extractor.config.model.weights}", **(metadata or {})})
    return result
