"""Library: every video in the workspace, with what has been computed for it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.app.library import video_card
from core.errors import DFEError
from dashboard.common import follow_running_jobs, workspace


@st.cache_data(max_entries=1000, show_spinner=False)
def cached_card(path: str, size: int, modified_ns: int):
    """`video_card` of a file as it was at (size, modified_ns): a replaced file is probed again."""
    return video_card(path)


def card(video: Path):
    """The video's `VideoInfo` and thumbnail, probed once per version of the file."""
    stat = video.stat()
    return cached_card(str(video), stat.st_size, stat.st_mtime_ns)


st.title("Library")
st.caption("Every video in the workspace and what has been computed for it. An empty workspace gets the "
           "demo video, with its flow and features computed in the background, so there is always "
           "something to explore.")

videos = workspace().videos()
follow_running_jobs()
st.write(f"**{len(videos)} video(s)** in the workspace")
for video in videos:
    with st.container(border=True):
        thumbnail, details, actions = st.columns([1, 3, 1])
        try:
            info, picture = card(video)
        except (DFEError, OSError) as error:
            details.error(f"{video.name}: {error}")
            continue
        thumbnail.image(picture, width="stretch")
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
