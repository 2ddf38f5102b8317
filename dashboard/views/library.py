"""Library: every video in the workspace, with what has been computed for it."""

from __future__ import annotations

import streamlit as st

from core.errors import DFEError
from core.video.decode import FrameTransform, probe_video, read_frame
from dashboard.common import follow_running_jobs, workspace

st.title("Library")
st.caption("Every video in the workspace and what has been computed for it. An empty workspace gets the "
           "demo video, with its flow and features computed in the background, so there is always "
           "something to explore.")

videos = workspace().videos()
follow_running_jobs()
st.write(f"**{len(videos)} video(s)** in `{workspace().root}`")
for video in videos:
    with st.container(border=True):
        thumbnail, details, actions = st.columns([1, 3, 1])
        try:
            info = probe_video(video)
            thumbnail.image(read_frame(video, 0, FrameTransform(short_side=120))[..., ::-1], width="stretch")
        except DFEError as error:
            details.error(f"{video.name}: {error}")
            continue
        status = workspace().status(video)
        details.markdown(f"**{video.name}**  \n{info.duration_s:.1f} s · {info.fps:.2f} fps · "
                         f"{info.frame_count} frames · {info.width}x{info.height} · {info.codec}")
        flow = ", ".join(f"{m} ({r.num_flow_frames} frames)" for m, r in status.flow.items()) or "none yet"
        details.markdown(f"Optical flow: {flow}  \nFeatures: {'yes' if status.has_features else 'none yet'}")
        with actions.popover("Delete", icon=":material/delete:"):
            st.write(f"Delete **{video.name}** and its flow and features?")
            if st.button("Delete for good", key=f"delete-{video.name}", type="primary"):
                workspace().delete_video(video)
                st.rerun()
