"""The versioned model registry on disk, `ModelSerializer` over it, and summaries of its versions."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "versions": ["MODEL_NAME", "ModelRegistry", "RegistryError"],
    "serializer": ["ModelSerializer"],
    "summary": ["version_rows", "metadata_diff", "unlike_measurements"],
})
