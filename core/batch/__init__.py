"""Batch extraction over many videos: inputs, done records and manifest, workers, local and Ray engines."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "run": ["batch_spec", "run_batch"],
    "inputs": ["find_batch_inputs"],
    "local": ["LocalEngine"],
    "ray_engine": ["RayEngine"],
})
