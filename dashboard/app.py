"""Streamlit dashboard entry point: `streamlit run dashboard/app.py`.

A placeholder home page for now: the workspace's videos, with the demo video created on first start,
and a preview of one frame pair's optical flow. Every computation is a call into `core`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.errors import DFEError  # noqa: E402
from core.flow import OpticalFlowComputer  # noqa: E402
from core.flow_viz import flow_to_color, quiver_overlay  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.video import FrameTransform, iter_frames, probe_video  # noqa: E402
from core.workspace import Workspace  # noqa: E402

st.set_page_config(page_title="Dynamic feature extractor", layout="wide")
st.title("Dynamic feature extractor")
st.caption("Optical flow and I3D motion features for video.")

workspace = Workspace(load_settings().workspace)
created = workspace.ensure_demo_video()
if created:
    st.info(f"Created the demo video {created.name} in the empty workspace.")

videos = workspace.videos()
st.subheader(f"Videos in the workspace ({len(videos)})")
choice = st.selectbox("Video", videos, format_func=lambda p: p.name)
if choice is not None:
    try:
        info = probe_video(choice)
        left, right = st.columns(2)
        with left:
            st.video(str(choice))
            st.write(f"{info.width}x{info.height}, {info.fps:.2f} fps, {info.frame_count} frames, "
                     f"{info.duration_s:.2f} s, codec {info.codec}")
        with right:
            frames = iter_frames(choice, transform=FrameTransform(short_side=224))
            first, second = next(frames), next(frames)
            frames.close()
            flow = OpticalFlowComputer("dis", workers=1).compute(first, second)
            st.image(flow_to_color(flow), width="stretch",
                     caption="Optical flow of the first frame pair (DIS, colour = direction, "
                             "saturation = speed)")
            st.image(quiver_overlay(first[..., ::-1], flow, step=16), width="stretch",
                     caption="The same flow as arrows on the first frame")
    except DFEError as error:
        st.error(f"Cannot show {choice.name}: {error}")
