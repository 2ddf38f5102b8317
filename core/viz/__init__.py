"""Pictures and plots: flow colour coding, what a layer sees over time (`FeatureVisualization`), per-video feature plots."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "visualization": ["FeatureVisualization"],
    "activation_views": ["ActivationViews"],
    "flow_images": ["flow_to_color", "quiver_overlay"],
    "flow_plots": ["mean_magnitude", "direction_histogram", "frame_time_ms", "magnitude_figure", "direction_figure"],
    "feature_plots": ["features_time_heatmap", "pca_trajectory_plot", "similarity_matrix_plot"],
})
