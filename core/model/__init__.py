"""The I3D model: DeepMind's architecture as data, its endpoint names, and the Keras 3 builder."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "endpoints": ["ENDPOINT_ORDER", "ALIASES", "MIN_FRAMES", "EndpointError", "resolve_endpoint"],
    "architecture": ["ARCHITECTURE", "temporal_stride"],
    "i3d": ["build_i3d", "endpoint_model"],
})
