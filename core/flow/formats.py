"""Reading and writing optical flow: `.npy` sequences, Middlebury `.flo`, quantised JPEG x/y pairs.

- `.npy`: `[T, H, W, 2] float32` (or float16: half the size, off by at most 0.008 px below 32 px), pixels.
  `NpyStreamWriter` appends frames one at a time, so a long video's flow never has to sit in memory,
  and renames the file into place only when complete.
- `.flo` (Middlebury, Baker et al. IJCV 2011): float32 magic 202021.25, int32 width, int32 height,
  then `[H, W, 2] float32` (u, v) row-major; values above 1e9 mark unknown flow.
- JPEG pairs (MMAction2 / denseflow): per flow frame t (1-based), `flow_x_{t:05d}.jpg` and
  `flow_y_{t:05d}.jpg`, grey uint8 with value = (f + 20) * 255 / 40, i.e. flow clipped to [-20, 20]
  pixels; the round trip loses at most 40 / 255 / 2 = 0.078 pixels plus JPEG error.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import cv2
import numpy as np

from core.common.atomic import atomic_path
from core.errors import FlowFileError, FlowShapeError, InvalidFlowValuesError

FLO_MAGIC = 202021.25
FLO_UNKNOWN = 1e9
JPEG_BOUND = 20.0


def check_flow(flow: np.ndarray, ndim: int = 4, allow_nan: bool = False) -> np.ndarray:
    """Validate `[T, H, W, 2]` (ndim=4) or `[H, W, 2]` (ndim=3) flow; returns it as float32.

    Raises FlowShapeError for another shape, InvalidFlowValuesError for NaN/inf values.
    """
    flow = np.asarray(flow)
    expected = "[T, H, W, 2]" if ndim == 4 else "[H, W, 2]"
    if flow.ndim != ndim or flow.shape[-1] != 2 or 0 in flow.shape:
        raise FlowShapeError(f"flow must be {expected} (dx, dy), got shape {flow.shape}")
    if not np.issubdtype(flow.dtype, np.floating):
        raise FlowShapeError(f"flow must be floating point, got {flow.dtype}")
    if not allow_nan and not np.isfinite(flow).all():
        bad = int((~np.isfinite(flow)).sum())
        raise InvalidFlowValuesError(f"flow contains {bad} NaN/infinite values; recompute it or "
                                     "replace them (e.g. np.nan_to_num) before use")
    return flow.astype(np.float32, copy=False)


# ---- .npy ------------------------------------------------------------------------------------

_NPY_HEADER_BYTES = 256  # fixed, so the header can be rewritten in place once T is known


class NpyStreamWriter:
    """Write a `[T, ...]` `.npy` of `dtype` (float32 or float16) frame by frame (e.g. `[T, H, W, 2]`
    flow); T need not be known.

    Frames go to a temporary file with a fixed-size header; `close()` writes the final shape into
    the header and renames the file onto `path`. If the writer is not closed (an exception, a kill),
    `path` is never created. Use as a context manager.
    """

    def __init__(self, path: str | os.PathLike, dtype: type = np.float32) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.stem}.{uuid.uuid4().hex[:8]}.tmp.npy")
        self._handle = open(self._tmp, "wb")
        self._handle.write(b"\0" * _NPY_HEADER_BYTES)
        self._frame_shape: tuple[int, ...] | None = None
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one frame (converted to the writer's dtype); every frame must have the first one's shape."""
        frame = np.ascontiguousarray(frame, dtype=self.dtype)
        if self._frame_shape is None:
            self._frame_shape = frame.shape
        elif frame.shape != self._frame_shape:
            raise FlowShapeError(f"frame {self.count} has shape {frame.shape}, "
                                 f"earlier frames {self._frame_shape}")
        self._handle.write(frame.tobytes())
        self.count += 1

    def close(self) -> Path:
        """Finish the header and move the file into place; returns the final path."""
        if self._frame_shape is None:
            self.abort()
            raise FlowShapeError(f"no frames were written to {self.path.name}")
        self._handle.seek(0)
        self._handle.write(_npy_header((self.count, *self._frame_shape), self.dtype))
        self._handle.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Discard the temporary file."""
        self._handle.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "NpyStreamWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """A version-1.0 `.npy` header for little-endian `dtype` of `shape`, padded to 256 bytes."""
    text = repr({"descr": dtype.newbyteorder("<").str, "fortran_order": False, "shape": tuple(shape)})
    body_len = _NPY_HEADER_BYTES - 10
    text = text.ljust(body_len - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + np.uint16(body_len).tobytes() + text.encode("latin1")


def load_flow_npy(path: str | os.PathLike, mmap: bool = True) -> np.ndarray:
    """Load a `[T, H, W, 2]` float32 or float16 `.npy` (memory-mapped by default); validates the shape only."""
    path = Path(path)
    if not path.is_file():
        raise FlowFileError(f"flow file not found: {path}")
    try:
        flow = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise FlowFileError(f"{path.name} is not a readable .npy flow file: {error}") from None
    if flow.ndim != 4 or flow.shape[-1] != 2:
        raise FlowShapeError(f"{path.name}: flow must be [T, H, W, 2], got {flow.shape}")
    return flow


def npy_shape(path: str | os.PathLike) -> tuple[int, ...] | None:
    """The shape in a `.npy` header, or None if the file is missing or its size does not match."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(handle)
            data_start = handle.tell()
    except (OSError, ValueError):
        return None
    expected = data_start + int(np.prod(shape)) * np.dtype(dtype).itemsize
    return tuple(shape) if path.stat().st_size == expected else None


# ---- Middlebury .flo -------------------------------------------------------------------------

def write_flo(path: str | os.PathLike, flow: np.ndarray) -> Path:
    """Write one `[H, W, 2]` flow field as Middlebury `.flo` (atomically)."""
    flow = check_flow(flow, ndim=3, allow_nan=True)
    height, width = flow.shape[:2]
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.float32(FLO_MAGIC).tofile(handle)
        np.array([width, height], np.int32).tofile(handle)
        flow.astype("<f4").tofile(handle)
    return Path(path)


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a Middlebury `.flo` into `[H, W, 2] float32`; unknown values (> 1e9) become NaN."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            magic = np.fromfile(handle, "<f4", 1)
            if magic.size != 1 or magic[0] != np.float32(FLO_MAGIC):
                raise FlowFileError(f"{path.name} is not a .flo file (bad magic number)")
            width, height = np.fromfile(handle, "<i4", 2)
            data = np.fromfile(handle, "<f4", int(width) * int(height) * 2)
    except OSError as error:
        raise FlowFileError(f"cannot read {path}: {error}") from None
    if data.size != width * height * 2:
        raise FlowFileError(f"{path.name} is truncated: {data.size} of {width * height * 2} values")
    flow = data.reshape(height, width, 2).astype(np.float32)
    flow[np.abs(flow) > FLO_UNKNOWN] = np.nan
    return flow


# ---- quantised JPEG x/y pairs ------------------------------------------------------------------

def quantize_flow(flow: np.ndarray, bound: float = JPEG_BOUND) -> np.ndarray:
    """`[..., 2] float` pixels -> `[..., 2] uint8`, value = (clip(f) + bound) * 255 / (2 * bound)."""
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.round(scaled).astype(np.uint8)


def dequantize_flow(quantized: np.ndarray, bound: float = JPEG_BOUND) -> np.ndarray:
    """Inverse of `quantize_flow`: `[..., 2] uint8` -> `[..., 2] float32` pixels."""
    return (quantized.astype(np.float32) * (2 * bound / 255.0) - bound).astype(np.float32)


def jpeg_pair_names(index: int) -> tuple[str, str]:
    """File names of flow frame `index` (0-based) in MMAction2's layout (1-based numbers)."""
    return f"flow_x_{index + 1:05d}.jpg", f"flow_y_{index + 1:05d}.jpg"


def write_jpeg_pair(folder: str | os.PathLike, index: int, flow: np.ndarray, quality: int = 95) -> None:
    """Write one `[H, W, 2]` flow frame as the quantised x/y JPEG pair `index` in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    quantized = quantize_flow(check_flow(flow, ndim=3))
    for name, channel in zip(jpeg_pair_names(index), (0, 1)):
        with atomic_path(folder / name) as tmp:
            if not cv2.imwrite(str(tmp), quantized[..., channel], [cv2.IMWRITE_JPEG_QUALITY, quality]):
                raise FlowFileError(f"could not write {folder / name}")


def write_jpeg_pairs(folder: str | os.PathLike, flow: np.ndarray, quality: int = 95) -> Path:
    """Write `[T, H, W, 2]` flow as T quantised x/y JPEG pairs in `folder`; returns the folder."""
    for index, frame in enumerate(check_flow(flow)):
        write_jpeg_pair(folder, index, frame, quality)
    return Path(folder)


def read_jpeg_pairs(folder: str | os.PathLike) -> np.ndarray:
    """Read every `flow_x_*.jpg`/`flow_y_*.jpg` pair in `folder` into `[T, H, W, 2] float32` pixels."""
    folder = Path(folder)
    x_files = sorted(folder.glob("flow_x_*.jpg"))
    if not x_files:
        raise FlowFileError(f"no flow_x_*.jpg files in {folder}")
    frames = []
    for x_file in x_files:
        y_file = x_file.with_name(x_file.name.replace("flow_x_", "flow_y_"))
        x, y = (cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in (x_file, y_file))
        if x is None or y is None:
            raise FlowFileError(f"missing or unreadable JPEG pair for {x_file.name} in {folder}")
        frames.append(np.stack([x, y], axis=-1))
    return dequantize_flow(np.stack(frames))

