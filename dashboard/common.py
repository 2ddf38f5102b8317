"""What every dashboard page shares: the workspace, the job runner, and error display.

Pages only call `core`; nothing here computes anything.
"""

from __future__ import annotations

import streamlit as st

from core.settings import load_settings
from core.workspace import Workspace
from core.workspace_jobs import workspace_runner


@st.cache_resource
def _workspace(root: str) -> Workspace:
    workspace = Workspace(root)
    workspace.ensure_demo_video()
    return workspace


def workspace() -> Workspace:
    """The configured workspace (DFE_WORKSPACE or config/app.yaml), with the demo video in it."""
    return _workspace(str(load_settings().workspace))


@st.cache_resource
def _runner(root: str):
    return workspace_runner(_workspace(root))


def runner():
    """The one job runner of this server process (jobs survive reruns, page switches, reloads)."""
    return _runner(str(load_settings().workspace))


def video_picker(label: str = "Video", key: str = "video"):
    """A select box of the workspace's videos; stops the page with a hint when there are none."""
    videos = workspace().videos()
    if not videos:
        st.info("The workspace has no videos yet: add some on the Upload page.")
        st.stop()
    names = [v.name for v in videos]
    chosen = st.session_state.get("selected_video")
    index = names.index(chosen) if chosen in names else 0
    name = st.selectbox(label, names, index=index, key=key)
    st.session_state["selected_video"] = name
    return workspace().video(name)
