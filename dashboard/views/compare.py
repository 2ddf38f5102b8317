"""Compare: the features of several videos in one projection, and videos with similar motion."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.app.workspace import video_id
from core.evaluation.compare import project, similar_windows, window_labels
from core.features.space import same_space
from core.features.store import read_features
from dashboard.common import current_user, follow_running_jobs, unfinished_jobs, workspace

st.title("Compare videos")
st.caption("Every window of the chosen videos in one 2D projection, and the windows of other videos "
           "whose motion is closest (cosine similarity of the features).")

available = {video_id(v): fs for v in workspace().visible_videos(current_user())
             if (fs := read_features(workspace().features_dir, video_id(v)))}
if len(available) < 1:
    on_their_way = sorted({job.params.get("video", "") for job in unfinished_jobs() if job.kind == "features"})
    if on_their_way:  # e.g. a new workspace's demo video, computed in the background
        st.info(f"Features of {', '.join(on_their_way)} are being computed: this page shows them when they are "
                "ready.")
        follow_running_jobs()
    else:
        st.info("No video has features yet: extract them on the Feature extraction page.")
    st.stop()
first = next(iter(available.values()))
chosen = st.multiselect("Videos", list(available),
                        default=[name for name, fs in available.items() if same_space(first, fs)][:6],
                        help="videos whose features come from the same model, window and flow")
method = st.radio("Projection", ["pca", "tsne"], horizontal=True, help="t-SNE keeps local neighbourhoods")
colour = st.radio("Colour by", ["video", "Kinetics top-1 label", "centre (ms)"], horizontal=True,
                  help="labels come from the RGB stream: tick 'Kinetics-400 top-5' when extracting")
if not chosen:
    st.stop()
try:
    projection = project([available[n] for n in chosen], method)
    frame = pd.DataFrame({"x": projection.coordinates[:, 0], "y": projection.coordinates[:, 1],
                          "video": projection.videos, "window": projection.windows,
                          "centre (ms)": projection.centres_ms,
                          "Kinetics top-1 label": window_labels([available[n] for n in chosen])})
    figure = px.scatter(frame, x="x", y="y", color=colour, hover_data=["video", "window", "centre (ms)",
                                                                      "Kinetics top-1 label"],
                        title=f"Windows of {len(chosen)} video(s), {method.upper()}")
    st.plotly_chart(figure, width="stretch")
    st.subheader("Videos with similar motion")
    query_video = st.selectbox("Window of", chosen)
    window = st.slider("Window", 0, len(available[query_video].windows) - 1, 0)
    matches = similar_windows([available[n] for n in chosen], query_video, window,
                              other_videos_only=len(chosen) > 1)
    st.dataframe(pd.DataFrame(matches), hide_index=True, width="stretch")
except ValueError as error:
    st.error(str(error))
