"""Dynamic feature extractor for video: optical flow, I3D flow-stream features, inspection tools.

One package per capability (see the README's "Layout of the code"); each re-exports its public names
on demand (`from core.flow import OpticalFlowComputer`), so importing `core` or one of its packages
loads nothing heavy (no TensorFlow).
"""

__version__ = "0.1.0"
