"""A visual test of one input: its features and every view of `FeatureVisualization`, as image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.features.folders import Sequence, sequence_features
from core.features.sequences import OpticalFlowSequenceLoader, cut_window
from core.flow.store import load_flow
from core.viz.feature_plots import features_time_heatmap, pca_trajectory_plot, similarity_matrix_plot
from core.viz.visualization import FeatureVisualization

VISUAL_LAYER = "Mixed_4f"


def visualize_sample(extractor, sequence: Sequence, output_dir: Path, layer: str = VISUAL_LAYER) -> list[Path]:
    """Features and every visualisation of one input into `output_dir` (PNG/GIF); returns the files."""
    output_dir.mkdir(parents=True, exist_ok=True)
    result = sequence_features(extractor, sequence, output_dir)
    if sequence.is_video:
        flow = load_flow(output_dir / "flow", sequence.output_name)[0]
    else:
        flow = OpticalFlowSequenceLoader(sequence.path.parent).load(sequence.path)[0]
    window = result.windows[0]
    clip = extractor.preprocess_flow_sequence(cut_window(flow, window))
    visualizer = FeatureVisualization(extractor.model, layer, fps=result.fps)
    activations = visualizer.get_intermediate_activations(clip)
    indices = list(np.argsort(-activations[0].mean(axis=(0, 1, 2)))[:3])  # the most active channels
    visualizer.save_views(activations, indices, output_dir, flow_sequence=clip)
    for name, plot in (("features_over_time.png", features_time_heatmap), ("trajectory.png", pca_trajectory_plot),
                       ("similarity.png", similarity_matrix_plot)):
        plot(result).savefig(output_dir / name, dpi=110, bbox_inches="tight")
    return sorted(p for p in output_dir.iterdir() if p.suffix in (".png", ".gif"))
