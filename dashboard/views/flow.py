"""Optical flow: compute flow for a video with a chosen method, watch it run, inspect the result."""

from __future__ import annotations

import streamlit as st

from core.app.workspace import video_id
from core.errors import DFEError
from core.flow.methods import FLOW_METHODS
from core.viz.flow_plots import direction_figure, frame_time_ms, magnitude_figure
from core.flow.store import data_path, find_complete, load_flow
from core.viz.flow_images import quiver_overlay
from core.video.decode import I3D_FLOW_TRANSFORM, read_frame
from dashboard.common import follow_job, submit_job, video_picker, workspace

st.title("Optical flow")
st.caption("Flow in I3D's convention (grey, short side 256, centre crop 224). Colour = direction, "
           "saturation = speed. TV-L1 is the I3D standard (about 0.3 s a frame pair here); tvl1_dis, TV-L1 started "
           "from DIS's flow, is ~5x faster; DIS is ~100x faster.")

video = video_picker()
method = st.selectbox("Method", list(FLOW_METHODS), index=list(FLOW_METHODS).index("dis"),
                      help="\n".join(f"{m.name}: {m.description}" for m in FLOW_METHODS.values()))
params = {}
with st.expander("Parameters"):
    st.caption(FLOW_METHODS[method].description)
    for name, default in FLOW_METHODS[method].defaults.items():
        label, hint = name, FLOW_METHODS[method].parameter_help.get(name)
        if isinstance(default, bool):
            value = st.checkbox(label, default, help=hint, key=f"{method}-{name}")
        elif isinstance(default, (int, float)):
            value = st.number_input(label, value=default, help=hint, key=f"{method}-{name}")
        else:
            value = st.text_input(label, default, help=hint, key=f"{method}-{name}")
        if value != default:
            params[name] = value

request = {"video": video.name, "method": method, "params": params}
if st.button("Compute flow", type="primary"):
    submit_job("flow", request)


follow_job("flow", request, "Flow failed")
record = find_complete(workspace().flow_dir(method), video_id(video))
if record is None:
    st.info("No flow with this method yet: press **Compute flow**.")
    st.stop()

try:
    flow, record = load_flow(workspace().flow_dir(method), video_id(video))
    st.success(f"{record.num_flow_frames} flow frames at {record.fps:.2f} fps, {record.width}x{record.height}, "
               f"method {record.method}")
    original, coded = st.columns(2)
    original.video(str(video))
    original.caption("The video")
    preview = workspace().flow_preview(method, video_id(video))
    if preview.exists():
        coded.video(str(preview))
        coded.caption("Its optical flow, colour-coded (H.264)")
    frame_index = st.slider("Frame", 0, record.num_flow_frames - 1, 0,
                            help="flow from this frame to the next, as arrows on the frame")
    step = st.select_slider("Arrow spacing (pixels)", [8, 12, 16, 24, 32], value=16)
    frame = read_frame(video, frame_index, I3D_FLOW_TRANSFORM)
    arrows, plots = st.columns(2)
    arrows.image(quiver_overlay(frame, flow[frame_index], step=step), width="stretch",
                 caption=f"frame {frame_index} ({frame_time_ms(frame_index, record.fps):.0f} ms) with its flow")
    plots.plotly_chart(magnitude_figure(flow, record.fps), width="stretch")
    plots.plotly_chart(direction_figure(flow), width="stretch")
    array_path = data_path(workspace().flow_dir(method), video_id(video), record.format)
    if array_path.is_file():
        st.download_button("Download flow (.npy, [T, 224, 224, 2] float32, pixels)", array_path.read_bytes(),
                           file_name=f"{video.stem}_{method}_flow.npy")
except DFEError as error:
    st.error(f"Cannot show the flow of {video.name}: {error}")
