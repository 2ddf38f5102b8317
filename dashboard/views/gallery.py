"""Temporal visualisation gallery: what a layer sees in one window of a video, over time."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.model.endpoints import ALIASES, ENDPOINT_ORDER
from core.viz.activation_views import ActivationViews
from dashboard.common import follow_job, model_version_picker, runner, video_picker, workspace

st.title("Temporal visualisation gallery")
st.caption("Pick a layer (DeepMind endpoint or GoogLeNet alias) and channels: the five temporal views of "
           "FeatureVisualization for one window, interactive where it helps, and everything generated so far.")

video = video_picker()
left, right = st.columns(2)
version = model_version_picker(left)
layer = right.selectbox("Layer", [n for n in ENDPOINT_ORDER if n.startswith("Mixed") or n.startswith("Conv")]
                        + sorted(ALIASES), index=ENDPOINT_ORDER.index("Mixed_4f") - 3)
window = left.number_input("Window (16 frames each, from the start)", min_value=0, value=0)
features = right.text_input("Channels (comma-separated)", "0, 10, 20")
try:
    indices = [int(x) for x in features.split(",") if x.strip()]
    if not indices:
        raise ValueError
except ValueError:
    st.error("Channels must be whole numbers separated by commas, e.g. 0, 10, 20")
    st.stop()
request = {"video": video.name, "version": version, "layer": layer, "window": int(window), "features": indices,
           "flow_method": "dis", "sequence_length": 16}
if st.button("Generate views", type="primary"):
    runner().submit("gallery", request)


follow_job("gallery", request, "Could not draw the views")
job = runner().find("gallery", request)
if job is not None and job.status == "done":
    folder = workspace().gallery_folder(video.stem, job.result["layer"], job.result["window"]["index"], indices)
    activations = np.load(folder / "activations.npy")[None]
    visualizer = ActivationViews(job.result["layer"], job.result["fps"])
    st.subheader(f"{job.result['layer']}, window {job.result['window']['index']} "
                 f"({job.result['window']['start_ms']:.0f}-{job.result['window']['end_ms']:.0f} ms)")
    evolution, surface = st.columns(2)
    evolution.plotly_chart(visualizer.temporal_evolution_plotly(activations, indices), width="stretch")
    surface.plotly_chart(visualizer.activation_3d_plotly(activations, indices[0]), width="stretch")
    st.plotly_chart(visualizer.activation_heatmap_plotly(activations, indices[0]), width="stretch")

st.subheader("Gallery")
root = workspace().gallery_dir(video.stem)
images = sorted(p for p in root.glob("*/*") if p.suffix in (".png", ".gif")) if root.exists() else []
if not images:
    st.info("Nothing generated for this video yet.")
for folder in sorted({p.parent for p in images}):
    with st.expander(folder.name, expanded=folder == (images[-1].parent if images else None)):
        for image in sorted(p for p in images if p.parent == folder):
            st.image(str(image), caption=image.name)
            st.download_button(f"Download {image.name}", image.read_bytes(), file_name=f"{folder.name}_{image.name}",
                               key=f"dl-{folder.name}-{image.name}")
