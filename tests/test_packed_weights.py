"""Weights shipped in the repository: float16 round trip, checksum, corrupt and missing files."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.weights.kinetics import WeightsError
from core.weights.packed import load_packed_weights, read_packed_metadata, save_packed_weights


def small_model(seed: int) -> keras.Model:
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, name="hidden", kernel_initializer=keras.initializers.GlorotUniform(seed))(inputs)
    return keras.Model(inputs, keras.layers.BatchNormalization(name="norm")(hidden))


def test_packed_weights_round_trip_in_float16(tmp_path):
    source, target = small_model(1), small_model(2)
    path = save_packed_weights(source, tmp_path / "w.npz", {"recipe": "test"})
    load_packed_weights(target, path)
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
        assert b.dtype == np.float32
    assert read_packed_metadata(path)["recipe"] == "test" and len(read_packed_metadata(path)["sha256"]) == 64


def test_a_changed_or_missing_file_is_refused(tmp_path):
    path = save_packed_weights(small_model(1), tmp_path / "w.npz", {})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match the sha256"):
        load_packed_weights(small_model(2), path)
    with pytest.raises(WeightsError, match="missing"):
        load_packed_weights(small_model(2), tmp_path / "absent.npz")


def test_weights_of_another_model_are_refused(tmp_path):
    inputs = keras.Input((6,))
    other = keras.Model(inputs, keras.layers.Dense(3, name="hidden")(inputs))
    path = save_packed_weights(other, tmp_path / "w.npz", {})
    with pytest.raises(WeightsError, match="do not fit"):
        load_packed_weights(small_model(2), path)
