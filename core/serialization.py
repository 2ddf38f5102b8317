"""The import path that users of the design document know (`from core.serialization import ModelSerializer`);
the code lives in `core.registry.serializer`."""

from core.registry.serializer import ModelSerializer

__all__ = ["ModelSerializer"]
