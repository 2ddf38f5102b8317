"""Write PyTorch state dict files without torch, for tests: what `torch.save(state_dict, path)` writes
for CPU tensors, in the zip format (PyTorch >= 1.6) or the legacy format (`legacy=True`).

A tensor is pickled (protocol 2) as `torch._utils._rebuild_tensor_v2(storage, 0, size, stride,
False, OrderedDict())` with the storage as persistent id ('storage', torch.FloatStorage, key, 'cpu',
numel) (legacy: one more item, the view, None). Zip: records `archive/data.pkl`, `archive/data/<key>`
(little-endian), `archive/byteorder`, `archive/version`. Legacy: the pickles of the magic number, the
protocol version, the system info, the state dict and the sorted storage keys, then per key an int64
numel and the data. Checked once against torch 2.13.0: `torch.load` reads both (weights_only too).
"""

from __future__ import annotations

import pickle
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

STORAGE_TYPES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
                 np.dtype(np.float16): "HalfStorage", np.dtype(np.int64): "LongStorage"}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _text(text: str) -> bytes:
    data = text.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return pickle.BININT + struct.pack("<i", value)


def _ints(values) -> bytes:
    return pickle.MARK + b"".join(_int(value) for value in values) + pickle.TUPLE


def _ordered_dict() -> bytes:
    return _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE


def _tensor(key: str, array: np.ndarray, shape: tuple, legacy: bool) -> bytes:
    storage = (pickle.MARK + _text("storage") + _global("torch", STORAGE_TYPES[array.dtype]) + _text(key)
               + _text("cpu") + _int(array.size)
               + (pickle.NONE if legacy else b"") + pickle.TUPLE + pickle.BINPERSID)
    strides = [int(np.prod(shape[axis + 1:])) for axis in range(len(shape))]
    args = storage + _int(0) + _ints(shape) + _ints(strides) + pickle.NEWFALSE
    return _global("torch._utils", "_rebuild_tensor_v2") + pickle.MARK + args + _ordered_dict() \
        + pickle.TUPLE + pickle.REDUCE


def state_dict_pickle(state_dict: dict[str, np.ndarray], legacy: bool = False,
                      declared_shapes: dict[str, tuple] | None = None) -> bytes:
    """The pickle of an OrderedDict of tensors; tensor i's storage has key str(i).
    `declared_shapes` gives some tensors another shape than their data's (a hostile file)."""
    shapes = {name: array.shape for name, array in state_dict.items()} | (declared_shapes or {})
    items = b"".join(_text(name) + _tensor(str(i), np.asarray(array), shapes[name], legacy)
                     for i, (name, array) in enumerate(state_dict.items()))
    return pickle.PROTO + b"\x02" + _ordered_dict() + pickle.MARK + items + pickle.SETITEMS + pickle.STOP


def _little_endian(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    return np.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()


def write_torch_file(path: str | Path, state_dict: dict[str, np.ndarray], legacy: bool = False,
                     data_pkl: bytes | None = None, declared_shapes: dict[str, tuple] | None = None) -> Path:
    """Write `state_dict` ({name: array}) as `torch.save` would; `data_pkl` replaces the pickle."""
    data_pkl = data_pkl or state_dict_pickle(state_dict, legacy, declared_shapes)
    if legacy:
        with open(path, "wb") as handle:
            for header in (LEGACY_MAGIC, LEGACY_PROTOCOL,
                           {"protocol_version": LEGACY_PROTOCOL, "little_endian": sys.byteorder == "little",
                            "type_sizes": {"short": 2, "int": 4, "long": 4}}):
                pickle.dump(header, handle, protocol=2)
            handle.write(data_pkl)
            keys = sorted(str(i) for i in range(len(state_dict)))
            pickle.dump(keys, handle, protocol=2)
            arrays = list(state_dict.values())
            for key in keys:
                handle.write(struct.pack("<q", np.asarray(arrays[int(key)]).size) + _little_endian(arrays[int(key)]))
        return Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        for i, array in enumerate(state_dict.values()):
            archive.writestr(f"archive/data/{i}", _little_endian(array))
        archive.writestr("archive/version", "3\n")
    return Path(path)
