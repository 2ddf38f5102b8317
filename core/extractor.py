"""The import path that users of the design document know (`from core.extractor import DynamicFeatureExtractor`);
the code lives in `core.features.extractor`."""

from core.features.extractor import DynamicFeatureExtractor

__all__ = ["DynamicFeatureExtractor"]
