"""Evaluate: FeatureExtractorEvaluator on a dataset, its metrics and plots, and two runs compared."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.flow.methods import FLOW_METHODS
from core.evaluation.metrics import compare_reports, report_metrics
from core.registry.versions import RegistryError
from core.training.motion_dataset import MOTIONS
from dashboard.common import follow_job, model_version_picker, registry, runner, workspace

st.title("Evaluate")
st.caption("How good are a model version's features? Discriminability on labelled clips (leave-one-out "
           "k-NN, linear probe, silhouette, Fisher ratio), stability under perturbations, temporal "
           "consistency; run it for two versions on the same data to compare them.")

source = st.radio("Dataset", ["Generated camera motions (labelled)", "Workspace videos (unlabelled)"],
                  horizontal=True)
if source.startswith("Generated"):
    motions = st.multiselect("Motions (one class each)", MOTIONS, default=list(MOTIONS))
    scenes_column, frames_column = st.columns(2)
    scenes = scenes_column.number_input("Scenes per motion", min_value=1, max_value=8, value=2)
    frames = frames_column.number_input("Frames per clip", min_value=10, max_value=65, value=17)
    if len(motions) < 2:
        st.warning("Choose at least two motions.")
        st.stop()
    dataset = {"kind": "motions", "motions": sorted(motions, key=MOTIONS.index), "scenes": int(scenes),
               "frames": int(frames)}
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
    runner().submit("evaluate", request)
follow_job("evaluate", request, "Evaluation failed")

reports, loaded = {}, {}
for path in sorted(workspace().evaluations_dir.glob("*/*/report.json")):
    name = f"{path.parent.parent.name} / {path.parent.name}"
    try:
        loaded[name], reports[name] = json.loads(path.read_text()), path
    except (OSError, ValueError) as error:
        st.warning(f"Skipped the unreadable report {name} ({error}); evaluate again to replace it.")
if not reports:
    st.info("No evaluation yet: choose a dataset and a version, then press **Evaluate**.")
    st.stop()
st.subheader("Evaluations so far")
st.dataframe(pd.DataFrame([{"dataset / run": name, **report_metrics(report)} for name, report in loaded.items()]),
             hide_index=True, width="stretch")

st.subheader("One evaluation")
name = st.selectbox("Evaluation", list(reports), index=len(reports) - 1)
report = loaded[name]
st.write(f"{report['clips']} windows, {len(report['classes'])} classes"
         + (f"; inputs that failed: {', '.join(report['failed'])}" if report.get("failed") else ""))
confusion, projection = st.columns(2)
confusion.image(str(reports[name].parent / "confusion_matrix.png"), caption="leave-one-out 1-NN confusion matrix")
projection.image(str(reports[name].parent / "projection.png"), caption="the windows' features, PCA")
st.download_button("Download the report (JSON)", reports[name].read_bytes(), file_name="report.json")

if len(reports) >= 2:
    st.subheader("Compare two evaluations")
    first_column, second_column = st.columns(2)
    first = first_column.selectbox("First", list(reports), index=0, key="first-report")
    second = second_column.selectbox("Second", list(reports), index=len(reports) - 1, key="second-report")
    if loaded[first]["classes"] != loaded[second]["classes"]:
        st.warning("These two were run on different data: compare runs of the same dataset.")
    st.dataframe(pd.DataFrame(compare_reports(loaded[first], loaded[second])), hide_index=True, width="stretch")
    first_column.image(str(reports[first].parent / "confusion_matrix.png"))
    second_column.image(str(reports[second].parent / "confusion_matrix.png"))
