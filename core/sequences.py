"""The import path that users of the design document know (`from core.sequences import OpticalFlowSequenceLoader`);
the code lives in `core.features.sequences`."""

from core.features.sequences import OpticalFlowSequenceLoader

__all__ = ["OpticalFlowSequenceLoader"]
