"""The import path that users of the design document know (`from core.metrics import FeatureExtractorEvaluator`);
the code lives in `core.evaluation.metrics`."""

from core.evaluation.metrics import FeatureExtractorEvaluator

__all__ = ["FeatureExtractorEvaluator"]
