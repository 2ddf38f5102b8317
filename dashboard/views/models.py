"""Models: the registry as a table, metadata diff, aliases, export, import, delete."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import DFEError
from core.model_registry import ModelRegistry
from core.registry_view import metadata_diff, version_rows
from core.serialization import SAVED_MODEL_DIR, ModelSerializer
from core.settings import load_settings

MODEL_NAME = "dynamic_feature_extractor"
model_dir = load_settings().model_dir
registry = ModelRegistry(model_dir, MODEL_NAME)

st.title("Model versions")
st.caption(f"The registry in `{model_dir}` ({MODEL_NAME}). Every version keeps its weights, metadata and a "
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
        if st.button("Export a TensorFlow SavedModel"):
            with st.spinner("Exporting..."):
                model = ModelSerializer.load_model(model_dir, MODEL_NAME, version)[0]
                registry.add_files(version, lambda tmp: ModelSerializer.export_for_inference(model, tmp / SAVED_MODEL_DIR))
            st.success(f"SavedModel (signatures serve, features) in {registry.path(version) / SAVED_MODEL_DIR}")
        with st.popover("Delete this version", icon=":material/delete:"):
            st.write(f"Delete **{version}** for good? Its aliases go with it; its name is never reused.")
            if st.button("Delete", type="primary", key="delete-version"):
                registry.delete(version)
                st.session_state["models_message"] = f"deleted {version}"
                st.rerun()

    st.subheader("Import")
    upload = st.file_uploader("A legacy full-model .h5 (converted to .keras as a new version)", type=["h5"])
    if upload is not None and st.button("Import"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            st.success(f"imported as {ModelSerializer.import_legacy_h5(path, model_dir, MODEL_NAME)}")
    st.caption("Fine-tuning on class folders: `python -m core extractor --mode implement --data_dir DIR "
               "--output_dir OUT` saves a new version here.")
except DFEError as error:
    st.error(str(error))
