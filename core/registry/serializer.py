"""`ModelSerializer`: save, list, load and export versions of a Keras model (SPEC API).

    serializer = ModelSerializer(model=extractor.model, model_name="dynamic_feature_extractor")
    save_path = serializer.save_model(base_dir="results/model_checkpoints", metadata=metadata)
    versions = ModelSerializer.list_available_versions(base_dir=..., model_name=...)
    model, metadata, version = ModelSerializer.load_latest_model(base_dir=..., model_name=...)
    export_path = ModelSerializer.export_for_inference(model=model, export_dir=".../inference")

The layout and the safety rules are those of `core.registry.versions`. Metadata records who/when/what,
the input signature, the framework versions, the git revision of the code and a sha256 per file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from core.common.paths import PROJECT_ROOT
from core.model.i3d import endpoint_model
from core.registry.versions import MODEL_NAME, SAVED_MODEL_DIR, WEIGHTS_FILE, ModelRegistry, RegistryError

MODEL_FILE = "model.keras"
FEATURES_ENDPOINT = "Features"


def git_revision() -> str | None:
    """The code's git commit (with '-dirty' for uncommitted changes), or None outside a checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def input_signature(model: keras.Model) -> dict[str, Any]:
    """Shape (None for free axes), dtype and channels of the model's input."""
    shape = [None if d is None else int(d) for d in model.input.shape]
    return {"shape": shape, "dtype": str(model.input.dtype), "channels": shape[-1]}


def describe(model: keras.Model, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata of a new version: the caller's fields plus what is read off the model/system."""
    metadata = dict(metadata or {})
    return {"author": metadata.pop("author", os.environ.get("USER", "unknown")),
            "description": metadata.pop("description", ""),
            "training_dataset": metadata.pop("training_dataset", None),
            "tags": sorted(metadata.pop("tags", [])), "config": metadata.pop("config", None),
            "weights_source": metadata.pop("weights_source", None), "metrics": metadata.pop("metrics", {}),
            "input_signature": input_signature(model), "model_class": model.name,
            "frameworks": {"tensorflow": tf.__version__, "keras": keras.__version__},
            "git_revision": git_revision(), "extra": metadata}


class ModelSerializer:
    """Versions of `model` saved under `base_dir/<model_name>/`."""

    def __init__(self, model: keras.Model, model_name: str = MODEL_NAME) -> None:
        self.model = model
        self.model_name = model_name

    def save_model(self, base_dir: str | os.PathLike, metadata: dict[str, Any] | None = None,
                   version: str | None = None, export: bool = False) -> str:
        """Save a new version (generated name unless `version` is given); returns its folder path.

        `export=True` also writes a SavedModel into the version (`saved_model/`).
        """
        registry = ModelRegistry(base_dir, self.model_name)

        def write(folder: Path) -> None:
            self.model.save(folder / MODEL_FILE)
            self.model.save_weights(folder / WEIGHTS_FILE)
            if export:
                ModelSerializer.export_for_inference(self.model, folder / SAVED_MODEL_DIR)

        name = registry.create(write, describe(self.model, metadata), version)
        return str(registry.root / name)

    @staticmethod
    def list_available_versions(base_dir: str | os.PathLike, model_name: str = MODEL_NAME) -> list[str]:
        """Complete versions, oldest first."""
        return ModelRegistry(base_dir, model_name).versions()

    @staticmethod
    def load_model(base_dir: str | os.PathLike, model_name: str = MODEL_NAME,
                   version: str | None = None) -> tuple[keras.Model, dict[str, Any], str]:
        """(model, metadata, version) of a version, alias, or the latest; files are verified first."""
        registry = ModelRegistry(base_dir, model_name)
        folder = registry.verify(version)
        try:
            model = keras.saving.load_model(folder / MODEL_FILE)
        except (ValueError, OSError) as error:
            raise RegistryError(f"cannot load {model_name} {folder.name}: {error}") from None
        return model, registry.metadata(folder.name), folder.name

    @staticmethod
    def load_latest_model(base_dir: str | os.PathLike,
                          model_name: str = MODEL_NAME) -> tuple[keras.Model, dict[str, Any], str]:
        """(model, metadata, version) of the newest version."""
        return ModelSerializer.load_model(base_dir, model_name, None)

    @staticmethod
    def export_for_inference(model: keras.Model, export_dir: str | os.PathLike) -> str:
        """A TensorFlow SavedModel with signatures `serve` (the model's output) and `features`
        (the 1024-d Features when the model has the I3D head); loads with `tf.saved_model.load`
        without this project's code. Returns the folder."""
        export_dir = Path(export_dir)
        archive = keras.export.ExportArchive()
        archive.track(model)
        spec = tf.TensorSpec([None, *model.input.shape[1:]], tf.float32, name="inputs")
        archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=[spec])
        if "Logits_AvgPool" in {layer.name for layer in model.layers} or \
                FEATURES_ENDPOINT in {layer.name for layer in model.layers}:
            features = endpoint_model(model, FEATURES_ENDPOINT)
            archive.track(features)
            archive.add_endpoint("features", lambda x: features(x, training=False), input_signature=[spec])
        archive.write_out(str(export_dir), verbose=False)
        return str(export_dir)

    @staticmethod
    def add_saved_model(model: keras.Model, base_dir: str | os.PathLike, version: str,
                        model_name: str = MODEL_NAME) -> Path:
        """Export `model` (the one loaded from `version`) into that registry version's folder, next
        to its other files (checksummed like them); returns the SavedModel folder."""
        registry = ModelRegistry(base_dir, model_name)
        registry.add_files(version, lambda tmp: ModelSerializer.export_for_inference(model, tmp / SAVED_MODEL_DIR))
        return registry.path(version) / SAVED_MODEL_DIR

    @staticmethod
    def import_legacy_h5(path: str | os.PathLike, base_dir: str | os.PathLike,
                         model_name: str = MODEL_NAME,
                         metadata: dict[str, Any] | None = None) -> str:
        """Convert a legacy full-model `.h5` into a new version (`.keras`); returns the version."""
        try:
            model = keras.saving.load_model(path, compile=False)
        except (ValueError, OSError) as error:
            raise RegistryError(f"cannot read legacy model {path}: {error}") from None
        merged = {"description": f"imported from {Path(path).name}", **(metadata or {})}
        return Path(ModelSerializer(model, model_name).save_model(base_dir, merged)).name
