"""Dynamic feature extractor for video: optical flow, I3D flow-stream features, inspection tools.

Submodules are imported on demand (`from core.flow.computer import OpticalFlowComputer`); importing `core`
itself loads nothing heavy (no TensorFlow).
"""

__version__ = "0.1.0"
