"""Upload: add videos to the workspace; each is checked before it is kept."""

from __future__ import annotations

import streamlit as st

from core.app.settings import load_settings
from core.video.decode import VIDEO_EXTENSIONS
from core.app.workspace import Ownership, UploadError
from dashboard.common import audit, current_user, workspace

limit_mb = st.get_option("server.maxUploadSize")
st.title("Upload")
st.write(f"Drop one or many videos ({', '.join(e.lstrip('.') for e in VIDEO_EXTENSIONS)}), up to "
         f"**{limit_mb} MB** each (the server's limit, `DFE_MAX_UPLOAD_MB`; a larger file is refused by the "
         "uploader below). Each file is checked (it must decode and have at least two frames) and copied "
         "to the workspace at once.")

user = current_user()
shared = st.toggle("Share with the team", value=not load_settings().login,
                   help="shared videos and their results are seen by everyone signed in; private ones by you "
                        "and the admins (you can change this in the Library)")
files = st.file_uploader("Videos", type=[e.lstrip(".") for e in VIDEO_EXTENSIONS], accept_multiple_files=True)
handled = st.session_state.setdefault("uploaded", {})
for file in files or []:
    if file.file_id not in handled:
        try:
            data = file.getvalue()
            existing = workspace().same_content(data, user)
            if existing is not None:  # the same bytes are here already: their results too
                path = existing
                handled[file.file_id] = ("ok", f"{file.name} is already in the workspace as {path.name}; "
                                               "the other pages open on it")
            else:
                path = workspace().add_video(file.name, data, Ownership(user.name, shared))
                audit("upload", path.name, file=file.name, bytes=len(data), shared=shared)
                handled[file.file_id] = ("ok", f"{file.name} added as {path.name}")
            st.session_state["selected_video"] = path.name  # the other pages open on the newest upload
        except UploadError as error:
            handled[file.file_id] = ("error", str(error))
    kind, message = handled[file.file_id]
    (st.success if kind == "ok" else st.error)(message)
if files:
    st.caption("The new videos are listed on the Library page; the other pages open on the last one added.")
