"""The import path that users of the design document know (`from core.visualization import FeatureVisualization`);
the code lives in `core.viz.visualization`."""

from core.viz.visualization import FeatureVisualization

__all__ = ["FeatureVisualization"]
