"""Feature extraction: per-window I3D flow features of a video with a registry model version."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.app.workspace import video_id
from core.model.endpoints import FEATURE_ENDPOINT_CHOICES
from core.viz.feature_plots import features_time_heatmap_plotly, pca_trajectory_plotly, similarity_matrix_plotly
from core.features.store import feature_paths, read_features
from core.flow.methods import FLOW_METHODS
from core.registry.versions import RegistryError
from dashboard.common import follow_job, model_version_picker, registry, submit_job, video_picker, workspace

st.title("Feature extraction")
st.caption("Windows of the video's optical flow through the I3D flow stream: one feature vector per "
           "window, with its first/last frame and times in ms.")

video = video_picker()
left, right = st.columns(2)
version = model_version_picker(left, help="an alias (e.g. default) or a version of the registry")
flow_method = right.selectbox("Optical flow", list(FLOW_METHODS), index=list(FLOW_METHODS).index("dis"),
                              help="dis: what the default weights are trained on; tvl1: the I3D standard, "
                                   "for DeepMind's Kinetics flow weights; tvl1_dis: TV-L1 started from DIS's "
                                   "flow, several times faster than tvl1")
length = left.number_input("Window length (frames)", min_value=9, max_value=128, value=16)
stride = right.number_input("Stride (frames)", min_value=1, max_value=128, value=8)
endpoint = left.selectbox("Endpoint", FEATURE_ENDPOINT_CHOICES,
                          help="Features: Mixed_5c pooled to 1024 values per window")
rgb = right.checkbox("Kinetics-400 top-5 per window (RGB stream)", value=False)
request = {"video": video.name, "version": version, "flow_method": flow_method, "sequence_length": int(length),
           "stride": int(stride), "endpoint": endpoint, "rgb": rgb}
if st.button("Extract features", type="primary"):
    try:
        registry().resolve(version)
        submit_job("features", request)
    except RegistryError as error:
        st.error(str(error))


follow_job("features", request, "Extraction failed")
result = read_features(workspace().features_dir, video_id(video))
if result is None:
    st.info("No features for this video yet: press **Extract features**.")
    st.stop()
settings = result.settings
st.success(f"{len(result.windows)} windows x {result.features.shape[1:]} ({settings.get('endpoint')}), window "
           f"{settings.get('sequence_length')} frames, stride {settings.get('stride')}, flow "
           f"{settings.get('flow', {}).get('method')}")
if result.features.ndim > 2:
    st.caption(f"{settings.get('endpoint')} is a spatial endpoint: the plots below use each channel's mean over "
               "time and space per window; the download holds the full activations.")
st.plotly_chart(features_time_heatmap_plotly(result), width="stretch")
trajectory, similarity = st.columns(2)
trajectory.plotly_chart(pca_trajectory_plotly(result), width="stretch")
similarity.plotly_chart(similarity_matrix_plotly(result), width="stretch")
if result.predictions:
    st.subheader("Kinetics-400 top-5 per window")
    st.dataframe(pd.DataFrame([{"window": w.index, "start (ms)": round(w.start_ms), "end (ms)": round(w.end_ms),
                                **{f"#{i + 1}": f"{p['label']} ({p['probability']:.0%})" for i, p in enumerate(top5)}}
                               for w, top5 in zip(result.windows, result.predictions)]), hide_index=True)
array_path, _, csv_path = feature_paths(workspace().features_dir, video_id(video))
download_npy, download_csv = st.columns(2)
download_npy.download_button("Download features (.npy)", array_path.read_bytes(), file_name=array_path.name)
download_csv.download_button("Download windows with timestamps (.csv)", csv_path.read_bytes(), file_name=csv_path.name)
