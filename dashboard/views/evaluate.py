"""Evaluate: FeatureExtractorEvaluator on a dataset, its metrics and plots, and two runs compared."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.flow.methods import FLOW_METHODS
from core.evaluation.metrics import compare_reports, report_metrics
from core.evaluation.reports import find_reports, same_classes
from core.registry.versions import RegistryError
from core.app.workspace import DATASET_MOTIONS, motions_dataset
from dashboard.common import current_user, follow_job, model_version_picker, registry, submit_job, workspace

st.title("Evaluate")
st.caption("How good are a model version's features? Discriminability on labelled clips (leave-one-out "
           "k-NN, linear probe, silhouette, Fisher ratio), stability under perturbations, temporal "
           "consistency; run it for two versions on the same data to compare them.")

GENERATED = {"Generated camera motions (labelled)": "motions",
             "Generated object motions (labelled)": "object_motions"}
# the workspace's videos folder holds every user's videos: only an admin evaluates on all of them
LIBRARY = ["Workspace videos (unlabelled)"] if current_user().is_admin else []
source = st.radio("Dataset", [*GENERATED, *LIBRARY], horizontal=True)
if source in GENERATED:
    kind = GENERATED[source]
    if kind == "object_motions":
        st.caption("One object moving on its own over a real photograph (opencv-doc's, else a texture) seen "
                   "by a still or slightly shaking camera.")
    choices = DATASET_MOTIONS[kind]
    motions = st.multiselect("Motions (one class each)", choices, default=list(choices))
    scenes_column, frames_column = st.columns(2)
    scenes = scenes_column.number_input("Scenes per motion", min_value=2, max_value=8, value=2,
                                        help="leave-one-out: a clip's motion is looked for in the other scenes")
    frames = frames_column.number_input("Frames per clip", min_value=10, max_value=65, value=17)
    if len(motions) < 2:
        st.warning("Choose at least two motions.")
        st.stop()
    dataset = motions_dataset(motions, scenes, frames, kind)
else:
    dataset = {"kind": "library"}
left, right = st.columns(2)
chosen = model_version_picker(left, help="evaluations are stored per version (an alias is resolved now)")
flow_method = right.selectbox("Optical flow", list(FLOW_METHODS), index=list(FLOW_METHODS).index("dis"))
length = left.number_input("Window length (frames)", min_value=9, max_value=64, value=16)
try:
    version = registry().resolve(chosen)
except RegistryError as error:
    st.error(str(error))
    st.stop()
request = {"dataset": dataset, "version": version, "flow_method": flow_method, "sequence_length": int(length)}
if st.button("Evaluate", type="primary"):
    submit_job("evaluate", request)
follow_job("evaluate", request, "Evaluation failed")

stored, unreadable = find_reports(workspace().evaluations_dir)
for name, reason in unreadable:
    st.warning(f"Skipped the unreadable report {name} ({reason}); evaluate again to replace it.")
if not stored:
    st.info("No evaluation yet: choose a dataset and a version, then press **Evaluate**.")
    st.stop()
reports = {report.name: report for report in stored}
st.subheader("Evaluations so far")
st.dataframe(pd.DataFrame([{"dataset / run": r.name, **report_metrics(r.report)} for r in stored]),
             hide_index=True, width="stretch")

st.subheader("One evaluation")
evaluation = reports[st.selectbox("Evaluation", list(reports), index=len(reports) - 1)]
st.write(evaluation.summary())
confusion, projection = st.columns(2)
confusion.image(str(evaluation.confusion_matrix), caption="leave-one-out 1-NN confusion matrix")
projection.image(str(evaluation.projection), caption="the windows' features, PCA")
st.download_button("Download the report (JSON)", evaluation.path.read_bytes(), file_name="report.json")

if len(reports) >= 2:
    st.subheader("Compare two evaluations")
    first_column, second_column = st.columns(2)
    first = reports[first_column.selectbox("First", list(reports), index=0, key="first-report")]
    second = reports[second_column.selectbox("Second", list(reports), index=len(reports) - 1, key="second-report")]
    if not same_classes(first.report, second.report):
        st.warning("These two were run on different data: compare runs of the same dataset.")
    st.dataframe(pd.DataFrame(compare_reports(first.report, second.report)), hide_index=True, width="stretch")
    first_column.image(str(first.confusion_matrix))
    second_column.image(str(second.confusion_matrix))
