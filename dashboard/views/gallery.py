"""Temporal visualisation gallery: what a layer sees in one window of a video, over time."""

from __future__ import annotations

import streamlit as st

from core.app.workspace import video_id
from core.common.values import comma_list
from core.errors import ConfigError
from core.model.endpoints import VISUAL_LAYER_CHOICES
from core.viz.activation_views import ActivationViews
from dashboard.common import follow_job, model_version_picker, runner, submit_job, video_picker, workspace

st.title("Temporal visualisation gallery")
st.caption("Pick a layer (DeepMind endpoint or GoogLeNet alias) and channels: the five temporal views of "
           "FeatureVisualization for one window, interactive where it helps, and everything generated so far.")

video = video_picker()
left, right = st.columns(2)
version = model_version_picker(left)
layer = right.selectbox("Layer", VISUAL_LAYER_CHOICES, index=VISUAL_LAYER_CHOICES.index("Mixed_4f"))
window = left.number_input("Window (16 frames each, from the start)", min_value=0, value=0)
features = right.text_input("Channels (comma-separated)", "0, 10, 20")
try:
    indices = comma_list(features, int, "channels")
except ConfigError:
    st.error("Channels must be whole numbers separated by commas, e.g. 0, 10, 20")
    st.stop()
request = {"video": video.name, "version": version, "layer": layer, "window": int(window), "features": indices,
           "flow_method": "dis", "sequence_length": 16}
if st.button("Generate views", type="primary"):
    submit_job("gallery", request)


follow_job("gallery", request, "Could not draw the views")
job = runner().find("gallery", request)
if job is not None and job.status == "done":
    activations = workspace().gallery_activations(video_id(video), job.result["layer"], job.result["window"]["index"],
                                                  indices)
    visualizer = ActivationViews(job.result["layer"], job.result["fps"])
    st.subheader(f"{job.result['layer']}, window {job.result['window']['index']} "
                 f"({job.result['window']['start_ms']:.0f}-{job.result['window']['end_ms']:.0f} ms)")
    evolution, surface = st.columns(2)
    evolution.plotly_chart(visualizer.temporal_evolution_plotly(activations, indices), width="stretch")
    surface.plotly_chart(visualizer.activation_3d_plotly(activations, indices[0]), width="stretch")
    st.plotly_chart(visualizer.activation_heatmap_plotly(activations, indices[0]), width="stretch")

st.subheader("Gallery")
views = workspace().gallery_views(video_id(video))
if not views:
    st.info("Nothing generated for this video yet.")
last_folder = max(views, default=None)
for folder, images in views.items():
    with st.expander(folder.name, expanded=folder == last_folder):
        for image in images:
            st.image(str(image), caption=image.name)
            st.download_button(f"Download {image.name}", image.read_bytes(), file_name=f"{folder.name}_{image.name}",
                               key=f"dl-{folder.name}-{image.name}")
