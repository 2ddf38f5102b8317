"""Streamlit dashboard entry point: `streamlit run dashboard/app.py`. It only declares the pages;
each page is a short script in `dashboard/views/` that calls `core` for all work.

Streamlit runs this script as `__main__`; the job workers that the server spawns import it again as
`__mp_main__` (multiprocessing's spawn start method), where nothing below the guard must run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from core.common.process import configure_process
    from dashboard.common import current_user, user_badge

    configure_process()
    st.set_page_config(page_title="Dynamic feature extractor", layout="wide")
    current_user()  # with login on, nothing below runs before someone signs in
    navigation = st.navigation([
        st.Page(VIEWS / "library.py", title="Library", icon=":material/video_library:", default=True),
        st.Page(VIEWS / "upload.py", title="Upload", icon=":material/upload:"),
        st.Page(VIEWS / "flow.py", title="Optical flow", icon=":material/airwave:"),
        st.Page(VIEWS / "features.py", title="Feature extraction", icon=":material/insights:"),
        st.Page(VIEWS / "gallery.py", title="Visualisation gallery", icon=":material/gallery_thumbnail:"),
        st.Page(VIEWS / "compare.py", title="Compare", icon=":material/compare:"),
        st.Page(VIEWS / "evaluate.py", title="Evaluate", icon=":material/fact_check:"),
        st.Page(VIEWS / "models.py", title="Model versions", icon=":material/model_training:"),
    ])
    user_badge()
    navigation.run()


if __name__ == "__main__":
    main()
