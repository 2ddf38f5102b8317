"""PyTorch state dicts read without torch: tensors become numpy arrays, every other object is refused.

Reads the zip that `torch.save` writes since PyTorch 1.6 (`read_torch_zip`) and the legacy file
before it (`read_torch_legacy`, the format of the weights published with pytorch-i3d and
kinetics_i3d_pytorch). Sizes, offsets and strides are checked against the storage before any array
is built, so a hostile file cannot read outside its data.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from core.weights.kinetics import WeightsError

# PyTorch files, read without torch. A tensor is pickled as `torch._utils._rebuild_tensor_v2(storage,
# offset, size, stride, requires_grad, backward_hooks)` (`_rebuild_tensor(storage, offset, size,
# stride)` before PyTorch 0.4), sizes and strides in elements; a storage is a persistent id
# ('storage', storage type, key, location, numel) in the zip format, whose data is the record
# `<archive>/data/<key>` in the byte order of the record `byteorder`, and ('storage', type, key,
# location, numel, view) in the legacy format: the pickles MAGIC, PROTOCOL, system info and the object,
# then the sorted storage keys, then per key an int64 numel and the data, all little-endian.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_LEGACY_PROTOCOL = 1001
TORCH_STORAGE_DTYPES = {"DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
                        "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
                        "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


@dataclass(frozen=True)
class _StorageType:
    """`torch.FloatStorage` etc. as the unpickler sees it: only the element type."""

    dtype: np.dtype


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_: Any) -> np.ndarray:
    """A read-only view of `storage` (1-D) with PyTorch's offset, size and stride (in elements),
    checked to stay inside the storage."""
    if not (isinstance(storage, np.ndarray) and storage.ndim == 1 and storage.flags.c_contiguous) \
            or len(size) != len(stride) or min((offset, *size, *stride)) < 0:
        raise WeightsError(f"a tensor has an invalid layout: offset {offset}, size {size}, stride {stride}")
    if 0 in size:
        return np.zeros(size, storage.dtype)
    last = offset + sum((n - 1) * step for n, step in zip(size, stride))
    if last >= storage.size:
        raise WeightsError(f"a tensor of size {tuple(size)} reaches beyond its storage of {storage.size} values")
    return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size),
                                           [step * storage.itemsize for step in stride], writeable=False)


def _rebuild_parameter(data: np.ndarray, *_: Any) -> np.ndarray:
    return data


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles what `torch.save` writes for a state dict (dicts of tensors) and nothing else:
    no code runs, every other global is refused; storages come from `load_storage(persistent id)`."""

    _REBUILD = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
                ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
                ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
                ("collections", "OrderedDict"): collections.OrderedDict}

    def __init__(self, file: IO[bytes], load_storage: Callable[[tuple], np.ndarray] | None = None):
        super().__init__(file)
        self.load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._REBUILD:
            return self._REBUILD[module, name]
        if module in ("torch", "torch.cuda") and name in TORCH_STORAGE_DTYPES:
            return _StorageType(np.dtype(TORCH_STORAGE_DTYPES[name]))
        raise WeightsError(f"refusing to unpickle {module}.{name}: a state dict file may hold only tensors")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if self.load_storage is None or not isinstance(pid, tuple) or len(pid) not in (5, 6) \
                or pid[0] != "storage" or not isinstance(pid[1], _StorageType):
            raise WeightsError(f"unexpected object in a state dict file: {str(pid)[:80]}")
        return self.load_storage(pid)


def _storage(data: bytes, storage_type: _StorageType, numel: int, byteorder: str) -> np.ndarray:
    stored = storage_type.dtype.newbyteorder(byteorder)
    if len(data) != numel * stored.itemsize:
        raise WeightsError(f"a storage of {numel} {storage_type.dtype} values has {len(data)} bytes")
    return np.frombuffer(data, stored).astype(storage_type.dtype)


def _state_dict(unpickler: _StateDictUnpickler, path: Path) -> dict[str, np.ndarray]:
    state = unpickler.load()
    if not isinstance(state, dict) or not all(isinstance(name, str) and isinstance(value, np.ndarray)
                                              for name, value in state.items()):
        raise WeightsError(f"{path} holds a {type(state).__name__} that is not a state dict of tensors")
    return state


def read_torch_zip(archive: zipfile.ZipFile, data_pkl: str, path: Path) -> dict[str, np.ndarray]:
    prefix = data_pkl[:-len("data.pkl")]
    byteorder = "<"
    if f"{prefix}byteorder" in archive.namelist():
        byteorder = {b"little": "<", b"big": ">"}[archive.read(f"{prefix}byteorder").strip()]

    def load_storage(pid: tuple) -> np.ndarray:
        _, storage_type, key, _, numel = pid
        return _storage(archive.read(f"{prefix}data/{key}"), storage_type, numel, byteorder)

    with archive.open(data_pkl) as handle:
        state = _state_dict(_StateDictUnpickler(handle, load_storage), path)
    return {name: np.array(tensor) for name, tensor in state.items()}


def read_torch_legacy(handle: IO[bytes], path: Path) -> dict[str, np.ndarray]:
    if _StateDictUnpickler(handle).load() != TORCH_LEGACY_MAGIC:
        raise WeightsError(f"{path} is a pickle but not a PyTorch file")
    protocol = _StateDictUnpickler(handle).load()
    if protocol != TORCH_LEGACY_PROTOCOL:
        raise WeightsError(f"{path}: unknown PyTorch legacy protocol {protocol}")
    _StateDictUnpickler(handle).load()  # system info; storages are little-endian whatever it says
    storages: dict[str, tuple[_StorageType, np.ndarray]] = {}  # filled after the tensors are built

    def load_storage(pid: tuple) -> np.ndarray:
        _, storage_type, key, _, numel, view = pid
        if numel * storage_type.dtype.itemsize > path.stat().st_size:
            raise WeightsError(f"{path} is truncated or corrupt: a storage of {numel} values does not fit")
        storage = storages.setdefault(key, (storage_type, np.empty(numel, storage_type.dtype)))[1]
        if view is None:
            return storage
        _, offset, view_numel = view
        return storage[offset:offset + view_numel]

    state = _state_dict(_StateDictUnpickler(handle, load_storage), path)
    for key in _StateDictUnpickler(handle).load():
        storage_type, storage = storages[key]
        numel = int.from_bytes(handle.read(8), "little")
        if numel != storage.size:
            raise WeightsError(f"storage {key} holds {numel} values, its tensors expect {storage.size}")
        storage[:] = _storage(handle.read(storage.nbytes), storage_type, numel, "<")
    return {name: np.array(tensor) for name, tensor in state.items()}
