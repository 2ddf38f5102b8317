"""DeepMind's I3D architecture as data (no Keras import, so pages and tools can read it cheaply):
the stages of kinetics-i3d's `i3d.py` in order, with their names, widths, kernels and strides.
`core.model.i3d` builds the Keras model from `ARCHITECTURE`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.endpoints import resolve_endpoint


@dataclass(frozen=True)
class Unit:
    """A Unit3D stage: `channels` output channels, `kernel` and `stride` as (t, h, w)."""

    channels: int
    kernel: tuple[int, int, int]
    stride: tuple[int, int, int] = (1, 1, 1)


@dataclass(frozen=True)
class Pool:
    """A 'SAME' max pool."""

    window: tuple[int, int, int]
    stride: tuple[int, int, int]


@dataclass(frozen=True)
class Mixed:
    """An Inception block: branch 0 1x1; branch 1 1x1 -> 3x3; branch 2 1x1 -> 3x3; branch 3
    3x3 max pool -> 1x1. Widths in DeepMind's order (b0, b1a, b1b, b2a, b2b, b3)."""

    widths: tuple[int, int, int, int, int, int]

    @property
    def channels(self) -> int:
        b0, _, b1, _, b2, b3 = self.widths
        return b0 + b1 + b2 + b3


ARCHITECTURE: tuple[tuple[str, Unit | Pool | Mixed], ...] = (
    ("Conv3d_1a_7x7", Unit(64, (7, 7, 7), (2, 2, 2))),
    ("MaxPool3d_2a_3x3", Pool((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", Unit(64, (1, 1, 1))),
    ("Conv3d_2c_3x3", Unit(192, (3, 3, 3))),
    ("MaxPool3d_3a_3x3", Pool((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", Mixed((64, 96, 128, 16, 32, 32))),
    ("Mixed_3c", Mixed((128, 128, 192, 32, 96, 64))),
    ("MaxPool3d_4a_3x3", Pool((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", Mixed((192, 96, 208, 16, 48, 64))),
    ("Mixed_4c", Mixed((160, 112, 224, 24, 64, 64))),
    ("Mixed_4d", Mixed((128, 128, 256, 24, 64, 64))),
    ("Mixed_4e", Mixed((112, 144, 288, 32, 64, 64))),
    ("Mixed_4f", Mixed((256, 160, 320, 32, 128, 128))),
    ("MaxPool3d_5a_2x2", Pool((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", Mixed((256, 160, 320, 32, 128, 128))),
    ("Mixed_5c", Mixed((384, 192, 384, 48, 128, 128))),
)


def temporal_stride(endpoint: str) -> int:
    """How many input frames one time step of `endpoint`'s output advances (1, 2, 4 or 8)."""
    canonical = resolve_endpoint(endpoint)
    stride = 1
    for name, stage in ARCHITECTURE:
        if not isinstance(stage, Mixed):
            stride *= stage.stride[0]
        if name == canonical:
            return stride
    return stride  # the head pools over time: report the last body stride
