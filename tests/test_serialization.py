"""The model registry: versions, metadata, aliases, tags, delete, export, legacy import, and safety
against corrupt files, bad names, a kill mid-save and concurrent saves (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import ROOT
from core.registry.versions import ModelRegistry, RegistryError
from core.registry.serializer import ModelSerializer

NAME = "tiny"


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,), name="inputs")
    return keras.Model(inputs, keras.layers.Dense(3, name="dense")(inputs), name="tiny")


def test_save_list_load_round_trip_with_full_metadata(tmp_path):
    model = tiny_model()
    path = ModelSerializer(model, NAME).save_model(tmp_path, {"author": "Research Team", "description": "d",
                                                              "training_dataset": "Custom", "tags": ["x"],
                                                              "metrics": {"knn1": 0.9}})
    assert Path(path).parent == tmp_path / NAME
    (version,) = ModelSerializer.list_available_versions(tmp_path, NAME)
    loaded, metadata, loaded_version = ModelSerializer.load_latest_model(tmp_path, NAME)
    assert loaded_version == version == Path(path).name
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    for key in ("version", "created", "author", "description", "training_dataset", "tags", "config",
                "input_signature", "weights_source", "metrics", "frameworks", "git_revision", "files"):
        assert key in metadata, key
    assert metadata["input_signature"] == {"shape": [None, 4], "dtype": "float32", "channels": 4}
    assert set(metadata["files"]) == {"model.keras", "model.weights.h5"}
    assert metadata["frameworks"]["keras"] == keras.__version__


def test_versions_are_unique_sortable_and_never_reused(tmp_path):
    serializer = ModelSerializer(tiny_model(), NAME)
    versions = [Path(serializer.save_model(tmp_path)).name for _ in range(3)]  # same second
    assert len(set(versions)) == 3 and ModelSerializer.list_available_versions(tmp_path, NAME) == versions
    registry = ModelRegistry(tmp_path, NAME)
    registry.delete(versions[1])
    assert ModelSerializer.list_available_versions(tmp_path, NAME) == [versions[0], versions[2]]
    with pytest.raises(RegistryError, match="was deleted"):
        ModelSerializer.load_model(tmp_path, NAME, versions[1])
    with pytest.raises(RegistryError, match="never reused"):
        serializer.save_model(tmp_path, version=versions[1])
    assert Path(serializer.save_model(tmp_path, version="release-1.0")).name == "release-1.0"
    with pytest.raises(RegistryError, match="unknown version"):
        ModelSerializer.load_model(tmp_path, NAME, "nope")


def test_aliases_and_tags(tmp_path):
    serializer = ModelSerializer(tiny_model(), NAME)
    first, second = (Path(serializer.save_model(tmp_path)).name for _ in range(2))
    registry = ModelRegistry(tmp_path, NAME)
    registry.set_alias("production", first)
    registry.set_alias("staging", second)
    assert ModelSerializer.load_model(tmp_path, NAME, "production")[2] == first
    registry.set_alias("production", second)  # move
    assert registry.aliases() == {"production": second, "staging": second}
    registry.remove_alias("staging")
    registry.delete(second)
    assert registry.aliases() == {}  # removed with their version
    assert registry.set_tags(first, add=["baseline", "cpu"]) == ["baseline", "cpu"]
    assert registry.set_tags(first, remove=["cpu"]) == ["baseline"]
    assert registry.metadata(first)["tags"] == ["baseline"]


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden", "x" * 200, "..", "-rf"])
def test_path_like_and_odd_names_are_refused(tmp_path, bad):
    with pytest.raises(RegistryError, match="invalid"):
        ModelSerializer(tiny_model(), bad).save_model(tmp_path)
    ModelSerializer(tiny_model(), NAME).save_model(tmp_path)
    with pytest.raises(RegistryError, match="invalid"):
        ModelRegistry(tmp_path, NAME).set_alias(bad, "latest")
    assert not (tmp_path.parent / "escape").exists()


def test_corrupt_or_truncated_files_are_refused(tmp_path):
    serializer = ModelSerializer(tiny_model(), NAME)
    truncated, missing = (Path(serializer.save_model(tmp_path)) for _ in range(2))
    model_file = truncated / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:-20])
    with pytest.raises(RegistryError, match="model.keras does not match its sha256"):
        ModelSerializer.load_model(tmp_path, NAME, truncated.name)
    (missing / "model.weights.h5").unlink()
    with pytest.raises(RegistryError, match="model.weights.h5 is missing"):
        ModelSerializer.load_model(tmp_path, NAME, missing.name)



def test_a_version_with_corrupt_metadata_is_listed_as_broken_and_can_be_deleted(tmp_path, capsys):
    from core.cli.main import main
    from core.registry.summary import version_rows

    serializer = ModelSerializer(tiny_model(), NAME)
    good, broken = (Path(serializer.save_model(tmp_path)).name for _ in range(2))
    (tmp_path / NAME / broken / "metadata.json").write_text('{"author": "trunc')
    rows = {row["version"]: row for row in version_rows(ModelRegistry(tmp_path, NAME))}
    assert rows[broken]["description"].startswith(f"broken: {tmp_path / NAME / broken / 'metadata.json'} is corrupt")
    assert rows[good]["description"] == "" and rows[good]["author"]  # the others stay usable
    assert main(["models", "--base_dir", str(tmp_path), "--model_name", NAME, "list"]) == 0
    assert "broken:" in capsys.readouterr().out
    ModelRegistry(tmp_path, NAME).delete(broken)
    assert ModelRegistry(tmp_path, NAME).versions() == [good]


def test_metrics_measured_on_other_clips_are_flagged():
    from core.registry.summary import unlike_measurements
    before_rendering_2 = {"metrics": {"eval_knn1_accuracy.composed": 0.906},
                          "extra": {"adaptation": {"eval_clips": {"composed": 64}}}}
    rendering_2 = {"metrics": {"eval_knn1_accuracy.composed": 0.844},
                   "extra": {"adaptation": {"rendering": 2, "eval_clips": {"composed": 64}}}}
    caveat = unlike_measurements(before_rendering_2, rendering_2)
    assert "extra.adaptation.rendering: not recorded vs 2" in caveat and "eval_clips" not in caveat
    assert unlike_measurements(rendering_2, {**rendering_2, "metrics": {"eval_knn1_accuracy.composed": 0.9}}) is None
    assert unlike_measurements(rendering_2, {"author": "ana"}) is None  # nothing measured, nothing to compare


def test_concurrent_alias_updates_lose_nothing(tmp_path):
    version = Path(ModelSerializer(tiny_model(), NAME).save_model(tmp_path)).name
    registry = ModelRegistry(tmp_path, NAME)
    threads = [threading.Thread(target=registry.set_alias, args=(f"a{i}", version)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(registry.aliases()) == {f"a{i}" for i in range(12)}


CHILD = """
import sys, time, keras
from pathlib import Path
sys.path.insert(0, {root!r})
from core.registry.serializer import ModelSerializer
base, mode, seed = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
keras.utils.set_random_seed(int(seed))
inputs = keras.Input((4,), name="inputs")
model = keras.Model(inputs, keras.layers.Dense(3, name="dense")(inputs), name="tiny")

def wait_for(*names):
    deadline = time.monotonic() + 60
    while not all((base / name).exists() for name in names):
        if time.monotonic() > deadline:
            sys.exit(f"gave up waiting for {{names}}")
        time.sleep(0.005)

original = keras.Model.save_weights
if mode == "slow":
    def slow_save_weights(self, path, *a, **k):
        original(self, path, *a, **k)
        print("writing", flush=True)
        time.sleep(120)  # until the test kills this process
    keras.Model.save_weights = slow_save_weights
else:
    # Both writers are inside save_model at once: each has written its files and waits for the
    # other to have written its own before going on to name and publish its version.
    def save_weights_beside_the_other(self, path, *a, **k):
        original(self, path, *a, **k)
        (base / f"saved-{{seed}}").touch()
        wait_for("saved-0", "saved-1")
    keras.Model.save_weights = save_weights_beside_the_other
    (base / f"ready-{{seed}}").touch()
    wait_for("go")
print(ModelSerializer(model, "tiny").save_model(base, {{"author": mode}}), flush=True)
"""


def child(tmp_path: Path, mode: str, seed: int) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)))
    return subprocess.Popen([sys.executable, str(script), str(tmp_path), mode, str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def test_a_save_killed_midway_leaves_no_version(tmp_path):
    process = child(tmp_path, "slow", 0)
    assert process.stdout.readline().strip() == "writing", process.stderr.read()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert ModelSerializer.list_available_versions(tmp_path, NAME) == []
    with pytest.raises(RegistryError, match="no versions"):
        ModelSerializer.load_latest_model(tmp_path, NAME)
    ModelSerializer(tiny_model(), NAME).save_model(tmp_path)  # the registry still works
    assert len(ModelSerializer.list_available_versions(tmp_path, NAME)) == 1


def test_two_processes_saving_at_once_both_succeed(tmp_path):
    processes = [child(tmp_path, f"writer{i}", i) for i in range(2)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):  # both have built their model
        assert all(p.poll() is None for p in processes), [p.communicate()[1] for p in processes]
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()  # both start saving now, and wait for each other inside save_model
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    paths = [out.strip().splitlines()[-1] for out, _ in outputs]
    versions = ModelSerializer.list_available_versions(tmp_path, NAME)
    assert sorted(Path(p).name for p in paths) == versions and len(set(versions)) == 2
    authors = {ModelRegistry(tmp_path, NAME).metadata(v)["author"] for v in versions}
    assert authors == {"writer0", "writer1"}
    for version in versions:
        ModelSerializer.load_model(tmp_path, NAME, version)


def test_legacy_h5_is_converted_on_import(tmp_path):
    model = tiny_model(3)
    legacy = tmp_path / "old_model.h5"
    keras.saving.save_model(model, legacy)
    version = ModelSerializer.import_legacy_h5(legacy, tmp_path / "reg", NAME)
    loaded, metadata, _ = ModelSerializer.load_model(tmp_path / "reg", NAME, version)
    assert "old_model.h5" in metadata["description"] and "model.keras" in metadata["files"]
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)


def test_savedmodel_export_reloads_in_a_fresh_process_without_our_code(tmp_path):
    from core.features.extractor import DynamicFeatureExtractor
    from core.features.config import ExtractorConfig, InferenceSection, ModelSection
    extractor = DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="random"), inference=InferenceSection(precision="float32")))
    path = extractor.save_model_with_serializer(tmp_path, {"author": "t"}, export=True)
    metadata = json.loads((Path(path) / "metadata.json").read_text())
    assert metadata["weights_source"] == "random" and metadata["config"]["model"]["weights"] == "random"
    assert "saved_model/saved_model.pb" in metadata["files"]
    clips = np.random.default_rng(0).uniform(-1, 1, (1, 9, 224, 224, 2)).astype(np.float32)
    np.save(tmp_path / "clips.npy", clips)
    script = ("import sys, numpy as np, tensorflow as tf\n"
              "m = tf.saved_model.load(sys.argv[1]); x = tf.constant(np.load(sys.argv[2]))\n"
              "np.save(sys.argv[3], m.features(x).numpy()); np.save(sys.argv[4], m.serve(x).numpy())\n")
    subprocess.run([sys.executable, "-c", script, str(Path(path) / "saved_model"), str(tmp_path / "clips.npy"),
                    str(tmp_path / "features.npy"), str(tmp_path / "logits.npy")], check=True, cwd=tmp_path,
                   env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    np.testing.assert_allclose(np.load(tmp_path / "features.npy"), extractor.extract_features(clips), atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), np.asarray(extractor.model(clips)), atol=1e-4)
