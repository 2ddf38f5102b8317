"""Models: the registry as a table, metadata diff, aliases, export, import, delete, fine-tuning."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.app.workspace import motions_dataset
from core.common.values import comma_list
from core.errors import DFEError
from core.registry.summary import metadata_diff, unlike_measurements, version_rows
from core.registry.versions import ModelRegistry
from core.training.motion_dataset import MOTIONS
from dashboard.common import audit, current_user, follow_job, runner, submit_job, workspace
from dashboard.common import registry as configured_registry


def compare_two_versions(registry: ModelRegistry, versions: list[str]) -> None:
    """Two select boxes and the metadata fields in which the chosen versions differ."""
    st.subheader("Compare two versions")
    first_column, second_column = st.columns(2)
    first = first_column.selectbox("First", versions, index=1)
    second = second_column.selectbox("Second", versions, index=0)
    try:
        first_metadata, second_metadata = registry.metadata(first), registry.metadata(second)
    except DFEError as error:
        st.error(str(error))
        return
    differences = metadata_diff(first_metadata, second_metadata)
    caveat = unlike_measurements(first_metadata, second_metadata)
    if caveat:
        st.warning(caveat)
    if differences:
        st.dataframe(pd.DataFrame(differences).astype(str), hide_index=True, width="stretch")
    else:
        st.write("Their metadata is identical.")


def manage_version(registry: ModelRegistry, versions: list[str]) -> None:
    """Aliases, tags, SavedModel export and deletion of one chosen version (aliases, which choose the
    team's default model, and deletion are for admins)."""
    st.subheader("Manage a version")
    version = st.selectbox("Version", versions, key="manage")
    alias_column, tag_column = st.columns(2)
    if current_user().is_admin:
        edit_aliases(registry, version, alias_column)
    else:
        alias_column.caption("Aliases and deletion are for admins.")
    add_tags(registry, version, tag_column)
    export_saved_model(registry, version)
    if current_user().is_admin:
        delete_version(registry, version)


def edit_aliases(registry: ModelRegistry, version: str, column) -> None:
    """Set or move an alias to `version`, or remove one of its aliases."""
    alias = column.text_input("Alias (e.g. production, staging)")
    try:
        if column.button("Set / move alias") and alias:
            registry.set_alias(alias, version)
            audit("alias_version", version, alias=alias)
            st.session_state["models_message"] = f"{alias} -> {version}"
            st.rerun()
        for name in registry.aliases_of(version):
            if column.button(f"Remove alias {name}", key=f"rm-{name}"):
                registry.remove_alias(name)
                audit("alias_version", version, alias=name, removed=True)
                st.rerun()
    except DFEError as error:
        column.error(str(error))


def add_tags(registry: ModelRegistry, version: str, column) -> None:
    """Add comma-separated tags to `version`."""
    tags = column.text_input("Add tags (comma-separated)")
    if column.button("Add tags") and tags:
        try:
            added = registry.set_tags(version, add=comma_list(tags, str, "tags"))
            audit("tag_version", version, tags=added)
        except DFEError as error:
            column.error(str(error))
            return
        st.rerun()


def export_saved_model(registry: ModelRegistry, version: str) -> None:
    """Where `version`'s SavedModel is, or a button that exports one in the background."""
    try:
        saved_model = registry.saved_model(version)
    except DFEError as error:
        st.error(str(error))
        return
    if saved_model is not None:
        st.write(f"SavedModel (signatures serve, features): `{saved_model}`")
    elif st.button("Export a TensorFlow SavedModel"):
        submit_job("export", {"version": version})
        audit("export_version", version)
    follow_job("export", {"version": version}, "Export failed")


def delete_version(registry: ModelRegistry, version: str) -> None:
    """Delete `version` for good, after a confirmation in a popover."""
    with st.popover("Delete this version", icon=":material/delete:"):
        st.write(f"Delete **{version}** for good? Its aliases go with it; its name is never reused.")
        if st.button("Delete", type="primary", key="delete-version"):
            try:
                registry.delete(version)
                audit("delete_version", version)
            except DFEError as error:
                st.error(str(error))
                return
            st.session_state["models_message"] = f"deleted {version}"
            st.rerun()


def import_legacy_model() -> None:
    """Upload a legacy .h5 and follow its import job (the result is a new version)."""
    st.subheader("Import")
    upload = st.file_uploader("A legacy full-model .h5 (converted to .keras as a new version)", type=["h5"])
    try:
        if upload is not None and st.button("Import"):
            path = workspace().stage_import(upload.name, upload.getvalue())
            st.session_state["import_request"] = {"path": str(path)}
            submit_job("import_h5", st.session_state["import_request"])
            audit("import_version", upload.name)
        if "import_request" in st.session_state:
            follow_job("import_h5", st.session_state["import_request"], "Import failed")
            job = runner().find("import_h5", st.session_state["import_request"])
            if job is not None and job.status == "done":
                st.success(f"imported as {job.result['version']}")
    except (DFEError, OSError) as error:
        st.error(str(error))


def fine_tune_new_version(registry: ModelRegistry, versions: list[str]) -> None:
    """The fine-tuning form (base version, motions, epochs, rate) and its job's progress and result."""
    st.subheader("Fine-tune a new version")
    st.caption("Mixed_5b, Mixed_5c and a classifier are trained on a generated camera-motion set (the "
               "lower blocks stay frozen); the result is saved here as a new version with its metrics. "
               "Your own class folders: `python -m core extractor --mode implement --data_dir DIR`.")
    try:
        request = fine_tune_form(registry, versions)
        too_few = len(request["dataset"]["motions"]) < 2
        if st.button("Start fine-tuning", key="fine-tune-start", disabled=too_few,
                     help="needs at least two motions" if too_few else None):
            submit_job("fine_tune", request)
            audit("fine_tune", request["version"], epochs=request["epochs"])
            st.session_state["fine_tune_request"] = request  # the new version changes the choices above
        request = st.session_state.get("fine_tune_request", request)
        follow_job("fine_tune", request, "Fine-tuning failed")
        job = runner().find("fine_tune", request)
        if job is not None and job.status == "done":
            st.success(f"new version {job.result['version']}: validation accuracy "
                       f"{job.result['metrics']['val_accuracy']:.3f}")
    except DFEError as error:
        st.error(str(error))


def fine_tune_form(registry: ModelRegistry, versions: list[str]) -> dict:
    """The fine-tuning job's request, as chosen in the form."""
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
    return {"dataset": motions_dataset(motions, scenes, frames=17), "version": base, "epochs": int(epochs),
            "learning_rate": float(rate), "description": description, "flow_method": "dis", "sequence_length": 16}


registry = configured_registry()
st.title("Model versions")
st.caption(f"The model registry ({registry.model_name}). Every version keeps its weights, "
           "metadata and a sha256 of each file; deleted versions are never reused.")
if "models_message" in st.session_state:
    st.success(st.session_state.pop("models_message"))
try:
    rows = version_rows(registry)
except DFEError as error:
    st.error(str(error))
    st.stop()
if not rows:
    st.info("No versions yet: set-up registers the default model (`python -m core weights prepare`).")
else:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
versions = [r["version"] for r in rows]

if len(versions) >= 2:
    compare_two_versions(registry, versions)
if versions:
    manage_version(registry, versions)
import_legacy_model()
if versions:
    fine_tune_new_version(registry, versions)
