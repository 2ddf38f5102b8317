"""Models: the registry as a table, metadata diff, aliases, export, import, delete, fine-tuning."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from core.errors import DFEError
from core.registry.versions import SAVED_MODEL_DIR
from core.registry.summary import metadata_diff, version_rows
from core.training.motion_dataset import MOTIONS
from core.app.workspace import safe_file_name
from dashboard.common import follow_job, runner, workspace
from dashboard.common import registry as configured_registry

registry = configured_registry()

st.title("Model versions")
st.caption(f"The registry in `{registry.root.parent}` ({registry.model_name}). Every version keeps its weights, metadata and a "
           "sha256 of each file; deleted versions are never reused.")
if "models_message" in st.session_state:
    st.success(st.session_state.pop("models_message"))
rows = version_rows(registry)
if not rows:
    st.info("No versions yet: set-up registers the default model (`python -m core weights prepare`).")
else:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
versions = [r["version"] for r in rows]

try:
    if len(versions) >= 2:
        st.subheader("Compare two versions")
        first_column, second_column = st.columns(2)
        first = first_column.selectbox("First", versions, index=1)
        second = second_column.selectbox("Second", versions, index=0)
        differences = metadata_diff(registry.metadata(first), registry.metadata(second))
        if differences:
            st.dataframe(pd.DataFrame(differences).astype(str), hide_index=True, width="stretch")
        else:
            st.write("Their metadata is identical.")

    if versions:
        st.subheader("Manage a version")
        version = st.selectbox("Version", versions, key="manage")
        alias_column, tag_column = st.columns(2)
        alias = alias_column.text_input("Alias (e.g. production, staging)")
        if alias_column.button("Set / move alias") and alias:
            registry.set_alias(alias, version)
            st.session_state["models_message"] = f"{alias} -> {version}"
            st.rerun()
        for name in [a for a, v in registry.aliases().items() if v == version]:
            if alias_column.button(f"Remove alias {name}", key=f"rm-{name}"):
                registry.remove_alias(name)
                st.rerun()
        tags = tag_column.text_input("Add tags (comma-separated)")
        if tag_column.button("Add tags") and tags:
            registry.set_tags(version, add=[t.strip() for t in tags.split(",") if t.strip()])
            st.rerun()
        if (registry.path(version) / SAVED_MODEL_DIR).is_dir():
            st.write(f"SavedModel (signatures serve, features): `{registry.path(version) / SAVED_MODEL_DIR}`")
        elif st.button("Export a TensorFlow SavedModel"):
            runner().submit("export", {"version": version})
        follow_job("export", {"version": version}, "Export failed")
        with st.popover("Delete this version", icon=":material/delete:"):
            st.write(f"Delete **{version}** for good? Its aliases go with it; its name is never reused.")
            if st.button("Delete", type="primary", key="delete-version"):
                registry.delete(version)
                st.session_state["models_message"] = f"deleted {version}"
                st.rerun()

    st.subheader("Import")
    upload = st.file_uploader("A legacy full-model .h5 (converted to .keras as a new version)", type=["h5"])
    if upload is not None and st.button("Import"):
        folder = workspace().root / "imports" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        path = folder / safe_file_name(upload.name)
        path.write_bytes(upload.getvalue())
        st.session_state["import_request"] = {"path": str(path)}
        runner().submit("import_h5", st.session_state["import_request"])
    if "import_request" in st.session_state:
        follow_job("import_h5", st.session_state["import_request"], "Import failed")
        job = runner().find("import_h5", st.session_state["import_request"])
        if job is not None and job.status == "done":
            st.success(f"imported as {job.result['version']}")

    if versions:
        st.subheader("Fine-tune a new version")
        st.caption("Mixed_5b, Mixed_5c and a classifier are trained on a generated camera-motion set (the "
                   "lower blocks stay frozen); the result is saved here as a new version with its metrics. "
                   "Your own class folders: `python -m core extractor --mode implement --data_dir DIR`.")
        base_column, data_column = st.columns(2)
        default_version = registry.aliases().get("default")
        base = base_column.selectbox("Start from", versions, key="fine-tune-base",
                                     index=versions.index(default_version) if default_version in versions else 0)
        motions = data_column.multiselect("Motions (classes)", MOTIONS, default=list(MOTIONS), key="fine-tune-motions")
        scenes = data_column.number_input("Scenes per motion", min_value=2, max_value=8, value=3, key="fine-tune-scenes")
        epochs = base_column.number_input("Epochs (at most; early stopping)", min_value=1, max_value=50, value=8,
                                         key="fine-tune-epochs")
        rate = base_column.number_input("Learning rate", min_value=1e-5, max_value=1e-1, value=1e-3, format="%.5f")
        description = st.text_input("Description", "fine-tuned on generated camera motions")
        request = {"dataset": {"kind": "motions", "motions": sorted(motions, key=MOTIONS.index),
                               "scenes": int(scenes), "frames": 17},
                   "version": base, "epochs": int(epochs), "learning_rate": float(rate),
                   "description": description, "flow_method": "dis", "sequence_length": 16}
        if st.button("Start fine-tuning", key="fine-tune-start", disabled=len(motions) < 2,
                     help="needs at least two motions" if len(motions) < 2 else None):
            runner().submit("fine_tune", request)
            st.session_state["fine_tune_request"] = request  # the new version changes the choices above
        request = st.session_state.get("fine_tune_request", request)
        follow_job("fine_tune", request, "Fine-tuning failed")
        job = runner().find("fine_tune", request)
        if job is not None and job.status == "done":
            st.success(f"new version {job.result['version']}: validation accuracy "
                       f"{job.result['metrics']['val_accuracy']:.3f}")
except DFEError as error:
    st.error(str(error))
