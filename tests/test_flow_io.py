"""Flow files: streaming .npy, Middlebury .flo, quantised JPEG pairs; validation of flow arrays."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import FlowFileError, FlowShapeError, InvalidFlowValuesError
from core.flow.formats import (NpyStreamWriter, check_flow, dequantize_flow, load_flow_npy, npy_shape,
                          quantize_flow, read_flo, read_jpeg_pairs, write_flo, write_jpeg_pairs)


def smooth_flow(frames=3, height=48, width=64, seed=0) -> np.ndarray:
    """`[T, H, W, 2]` flow that varies smoothly in space, within [-25, 25] pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for _ in range(frames):
        a, b, c = rng.uniform(-1, 1, 3)
        out.append(np.stack([25 * np.sin(x / width * 3 + a) * b, 25 * np.cos(y / height * 2 + c)], -1))
    return np.stack(out).astype(np.float32)


def test_npy_stream_writer_round_trip(tmp_path):
    flow = smooth_flow()
    with NpyStreamWriter(tmp_path / "f.npy") as writer:
        for frame in flow:
            writer.write(frame)
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), flow)
    assert npy_shape(tmp_path / "f.npy") == flow.shape
    assert load_flow_npy(tmp_path / "f.npy").shape == flow.shape


def test_npy_stream_writer_leaves_nothing_when_interrupted(tmp_path):
    with pytest.raises(RuntimeError):
        with NpyStreamWriter(tmp_path / "f.npy") as writer:
            writer.write(smooth_flow()[0])
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_npy_stream_writer_rejects_changing_shapes(tmp_path):
    writer = NpyStreamWriter(tmp_path / "f.npy")
    writer.write(np.zeros((4, 4, 2)))
    with pytest.raises(FlowShapeError, match="earlier frames"):
        writer.write(np.zeros((4, 5, 2)))
    writer.abort()


def test_truncated_npy_is_detected(tmp_path):
    path = tmp_path / "f.npy"
    np.save(path, smooth_flow())
    path.write_bytes(path.read_bytes()[:-100])
    assert npy_shape(path) is None
    with pytest.raises(FlowFileError):
        load_flow_npy(path, mmap=False)


def test_flo_round_trip_and_unknown_values(tmp_path):
    flow = smooth_flow(1)[0]
    write_flo(tmp_path / "a.flo", flow)
    np.testing.assert_array_equal(read_flo(tmp_path / "a.flo"), flow)
    flow[0, 0] = 1e10  # Middlebury's "unknown"
    write_flo(tmp_path / "b.flo", flow)
    assert np.isnan(read_flo(tmp_path / "b.flo")[0, 0]).all()


def test_flo_bad_magic_and_truncation(tmp_path):
    (tmp_path / "bad.flo").write_bytes(b"RIFF" + b"\0" * 20)  # the magic is "PIEH"
    with pytest.raises(FlowFileError, match="magic"):
        read_flo(tmp_path / "bad.flo")
    write_flo(tmp_path / "a.flo", smooth_flow(1)[0])
    (tmp_path / "cut.flo").write_bytes((tmp_path / "a.flo").read_bytes()[:-10])
    with pytest.raises(FlowFileError, match="truncated"):
        read_flo(tmp_path / "cut.flo")


def test_quantisation_follows_mmaction2_formula():
    flow = np.array([[[-20.0, 20.0], [0.0, -30.0]]], np.float32)
    quantized = quantize_flow(flow)
    np.testing.assert_array_equal(quantized, [[[0, 255], [128, 0]]])  # (f + 20) * 255 / 40
    values = np.linspace(-20, 20, 1001, dtype=np.float32)
    error = np.abs(dequantize_flow(quantize_flow(np.stack([values, values], -1)))[..., 0] - values)
    assert error.max() <= 40 / 255 / 2 + 1e-5


def test_jpeg_pairs_round_trip(tmp_path):
    flow = smooth_flow()
    write_jpeg_pairs(tmp_path / "clip", flow)
    assert sorted(p.name for p in (tmp_path / "clip").iterdir())[:2] == ["flow_x_00001.jpg", "flow_x_00002.jpg"]
    restored = read_jpeg_pairs(tmp_path / "clip")
    assert restored.shape == flow.shape
    error = np.abs(restored - np.clip(flow, -20, 20))
    assert error.mean() < 0.15 and error.max() < 1.0


def test_check_flow_rejects_bad_shapes_and_nan():
    with pytest.raises(FlowShapeError, match=r"\[T, H, W, 2\]"):
        check_flow(np.zeros((3, 8, 8, 3)))
    with pytest.raises(FlowShapeError, match="floating"):
        check_flow(np.zeros((3, 8, 8, 2), np.int32))
    bad = np.zeros((3, 8, 8, 2), np.float32)
    bad[1, 2, 3, 0] = np.nan
    with pytest.raises(InvalidFlowValuesError, match="1 NaN"):
        check_flow(bad)
