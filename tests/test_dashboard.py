"""The dashboard pages, run headless with Streamlit's AppTest against a temporary workspace."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, wait_for
from core.app.jobs import JobStore
from core.app.workspace import Workspace

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture()
def workspace_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DFE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("DFE_DEMO_RESULTS", "0")  # each test starts the jobs it needs
    yield tmp_path
    for worker in multiprocessing.active_children():  # this test's job worker, with its TensorFlow
        worker.terminate()


def wait_for_jobs(workspace_dir, count: int, seconds: float = 180) -> None:
    """Until the workspace has `count` background jobs (or more) and all have finished; each must
    have succeeded."""
    store = JobStore(Workspace(workspace_dir).jobs_dir)
    wait_for(lambda: len(states := store.list()) >= count and all(s.finished for s in states), seconds,
             f"{count} finished job(s) in {store.root}")
    assert [(s.kind, s.status) for s in store.list() if s.status != "done"] == [], \
        [s.message for s in store.list()]


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    if page != "library.py":
        app.switch_page(f"views/{page}")
        app.run()
    return app


def test_upload_accepts_videos_and_refuses_bad_files(workspace_dir, demo_video):
    app = open_page("upload.py")
    assert "500 MB" in " ".join(m.value for m in app.markdown)
    uploader = app.get("file_uploader")[0]
    uploader.set_value([("clip one.mp4", demo_video.read_bytes(), "video/mp4"),
                        ("notes.mp4", b"not a video at all" * 20, "video/mp4"),
                        ("../../escape.mp4", demo_video.read_bytes()[:2000], "video/mp4")]).run()
    assert not app.exception
    assert any("clip_one.mp4" in s.value for s in app.success)
    errors = " ".join(e.value for e in app.error)
    assert "notes.mp4" in errors and "not a video" in errors and "truncated or damaged" in errors
    assert sorted(p.name for p in (workspace_dir / "videos").iterdir()) == ["clip_one.mp4", "demo.mp4"]


def test_flow_page_computes_in_the_background_and_shows_the_result(workspace_dir):
    app = open_page("flow.py")
    assert not app.exception and any("No flow" in i.value for i in app.info)
    app.selectbox[1].set_value("dis").run()
    app.button[0].click().run()
    wait_for_jobs(workspace_dir, count=1)
    assert (workspace_dir / "flow" / "dis" / "demo.mp4_color.mp4").exists()
    app.run()
    assert not app.exception
    assert any("74 flow frames" in s.value for s in app.success)
    assert app.slider[0].max == 73
    app.slider[0].set_value(10).run()
    assert not app.exception and len(app.get("plotly_chart")) == 2
    assert app.get("download_button")


def test_empty_workspace_video_list_after_deleting_everything(workspace_dir):
    app = open_page("library.py")
    (workspace_dir / "videos" / "demo.mp4").unlink()
    app.run()
    assert not app.exception and "0 video(s)" in " ".join(m.value for m in app.markdown)


def test_features_page_extracts_with_a_registry_version(workspace_dir, registry_dir, monkeypatch):
    monkeypatch.setenv("DFE_MODEL_DIR", str(registry_dir))
    app = open_page("features.py")
    assert not app.exception and app.selectbox[1].value == "default"
    app.number_input[0].set_value(9).run()
    app.button[0].click().run()
    wait_for_jobs(workspace_dir, count=1)
    assert (workspace_dir / "features" / "demo.mp4_features.json").exists()
    app.run()
    assert not app.exception
    assert any("windows x (1024,)" in s.value for s in app.success)
    assert len(app.get("plotly_chart")) == 3 and len(app.get("download_button")) == 2


def test_gallery_generates_the_views_and_lists_them(workspace_dir, registry_dir, monkeypatch):
    monkeypatch.setenv("DFE_MODEL_DIR", str(registry_dir))
    app = open_page("gallery.py")
    assert not app.exception and any("Nothing generated" in i.value for i in app.info)
    app.text_input[0].set_value("1, x").run()
    assert any("whole numbers" in e.value for e in app.error)
    app.text_input[0].set_value("3, 7").run()
    app.button[0].click().run()
    folder = workspace_dir / "gallery" / "demo.mp4" / "Mixed_4f_w0_3-7"
    wait_for_jobs(workspace_dir, count=1)
    app.run()
    assert not app.exception
    assert {p.name for p in folder.iterdir()} >= {"temporal_evolution.png", "feature_heatmap.png", "feature_3d.png",
                                                  "comparative_view.png", "feature_evolution.gif"}
    assert len(app.get("plotly_chart")) == 3
    assert len(app.get("download_button")) == 6


def registry_with_versions(folder, monkeypatch, metadata: list[dict]) -> None:
    """The dashboard's registry in `folder`, holding one tiny model version per `metadata` entry, in order."""
    import keras
    from core.registry.serializer import ModelSerializer
    monkeypatch.setenv("DFE_MODEL_DIR", str(folder))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    for fields in metadata:
        ModelSerializer(model, "dynamic_feature_extractor").save_model(folder, fields)


def test_models_page_table_diff_alias_and_delete(workspace_dir, tmp_path, monkeypatch):
    registry_with_versions(tmp_path / "models", monkeypatch, [{"author": "ana"}, {"author": "ben"}])
    app = open_page("models.py")
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["author"]) == ["ben", "ana"] and "size (MB)" in table.columns
    diff = app.dataframe[1].value
    assert "author" in list(diff["field"])
    app.text_input[0].set_value("production").run()
    app.button[0].click().run()
    assert not app.exception and any("production ->" in s.value for s in app.success)
    assert "production" in list(app.dataframe[0].value["aliases"])
    app.button("delete-version").click().run()
    assert not app.exception and len(app.dataframe[0].value) == 1


def test_models_page_warns_when_two_versions_metrics_come_from_other_clips(workspace_dir, tmp_path, monkeypatch):
    registry_with_versions(tmp_path / "models", monkeypatch,
                           [{"metrics": {"composed": composed}, "adaptation": {"rendering": rendering}}
                            for rendering, composed in ((1, 0.906), (2, 0.844))])
    app = open_page("models.py")
    assert not app.exception
    (warning,) = app.warning
    assert "extra.adaptation.rendering: 1 vs 2" in warning.value


def test_models_page_with_an_empty_registry(workspace_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DFE_MODEL_DIR", str(tmp_path / "none"))
    app = open_page("models.py")
    assert not app.exception and any("No versions yet" in i.value for i in app.info)


def test_compare_page_projects_videos_and_finds_similar_windows(workspace_dir, monkeypatch):
    from dataclasses import replace
    from core.features.store import FeatureSet, read_features, write_features
    from core.features.sequences import make_windows
    import numpy as np
    rng = np.random.default_rng(0)
    for name, centre in (("left.mp4", [1.0, 0, 0]), ("right.mp4", [0, 1.0, 0]), ("left2.mp4", [0.9, 0.1, 0])):
        features = np.array(centre) + rng.normal(0, 0.01, (4, 3))
        write_features(workspace_dir / "features", FeatureSet(name, features.astype(np.float32),
                                                              make_windows(name, 40, 25.0, 16, 8), 25.0,
                                                              {"window_mode": "exact"}))
        (workspace_dir / "videos").mkdir(exist_ok=True)
    from core.video.synthetic import make_demo_video
    for name in ("left", "right", "left2"):
        make_demo_video(workspace_dir / "videos" / f"{name}.mp4", num_frames=4, size=(64, 48))
    app = open_page("compare.py")
    assert not app.exception and len(app.get("plotly_chart")) == 1
    app.selectbox[0].set_value("left.mp4").run()
    table = app.dataframe[0].value
    assert table["video"].iloc[0] == "left2.mp4" and "right.mp4" not in list(table["video"])[:4]
    app.radio[0].set_value("tsne").run()
    assert not app.exception
    app.radio[1].set_value("Kinetics top-1 label").run()
    assert not app.exception and len(app.get("plotly_chart")) == 1
    shared = read_features(workspace_dir / "features", "left2.mp4")
    write_features(workspace_dir / "features", replace(shared, settings={"window_mode": "shared"}))
    app = open_page("compare.py")
    assert not app.exception and app.multiselect[0].value == ["left.mp4", "right.mp4"]  # one space by default
    app.multiselect[0].set_value(["left.mp4", "left2.mp4"]).run()
    assert not app.exception and any("window_mode" in e.value and "left2.mp4" in e.value for e in app.error)


def test_compare_page_on_a_new_workspace_says_the_demo_features_are_on_their_way(workspace_dir, registry_dir,
                                                                                  monkeypatch):
    """A new workspace computes the demo video's features in the background: until they are there,
    Compare says so (with the job's progress), not that no video has features; then it shows them."""
    monkeypatch.setenv("DFE_MODEL_DIR", str(registry_dir))
    monkeypatch.setenv("DFE_DEMO_RESULTS", "1")
    app = open_page("compare.py")  # its first run submits the demo jobs; their worker is still starting
    assert not app.exception
    assert [i.value for i in app.info] == ["Features of demo.mp4 are being computed: this page shows them when "
                                           "they are ready."]
    wait_for_jobs(workspace_dir, 2)
    app.run()
    assert not app.exception and not app.info and len(app.get("plotly_chart")) == 1


def test_evaluate_page_evaluates_two_versions_on_the_same_data_and_compares_them(workspace_dir, registry_dir,
                                                                                  monkeypatch):
    from core.registry.versions import ModelRegistry
    monkeypatch.setenv("DFE_MODEL_DIR", str(registry_dir))
    first, second = ModelRegistry(registry_dir, "dynamic_feature_extractor").versions()
    app = open_page("evaluate.py")
    assert not app.exception and any("No evaluation yet" in i.value for i in app.info)
    app.multiselect[0].set_value(["pan_left", "zoom_in", "static"]).run()
    for count, version in enumerate((first, second), start=1):
        app.selectbox[0].set_value(version).run()
        app.button[0].click().run()
        wait_for_jobs(workspace_dir, count=count)
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    runs = [name.split(" / ") for name in table["dataset / run"]]
    assert sorted(run for _, run in runs) == sorted([f"{first}-dis-T16", f"{second}-dis-T16"])
    assert all(dataset.startswith("motions-3x2-f17-") for dataset, _ in runs)
    for (dataset, run), knn1 in zip(runs, table["knn1_accuracy"]):  # the table shows what each run measured
        report = json.loads((workspace_dir / "evaluations" / dataset / run / "report.json").read_text())
        assert knn1 == report["discriminability"]["knn1_accuracy"]
    comparison = app.dataframe[1].value
    assert {"knn1_accuracy", "linear_probe_accuracy", "stability_flow_noise_0.5"} <= set(comparison["metric"])
    assert (comparison["difference"] == comparison["second"] - comparison["first"]).all()
    assert len(app.get("image")) == 4  # the chosen run's two plots, the two compared confusion matrices


def test_library_probes_a_replaced_video_again(workspace_dir):
    from core.video.synthetic import make_demo_video
    app = open_page("library.py")
    assert "75 frames" in " ".join(m.value for m in app.markdown)
    demo = workspace_dir / "videos" / "demo.mp4"
    make_demo_video(workspace_dir / "short.mp4", num_frames=5, size=(64, 48)).replace(demo)
    app.run()
    text = " ".join(m.value for m in app.markdown)
    assert not app.exception and "5 frames" in text and "64x48" in text


def test_evaluate_page_warns_about_an_unreadable_report(workspace_dir, registry_dir, monkeypatch):
    monkeypatch.setenv("DFE_MODEL_DIR", str(registry_dir))
    run = workspace_dir / "evaluations" / "motions-3x2-f17-abc123" / "v1-dis-T16"
    run.mkdir(parents=True)
    (run / "report.json").write_text('{"clips": 3, "classes": [')
    app = open_page("evaluate.py")
    assert not app.exception
    assert any("unreadable report motions-3x2-f17-abc123 / v1-dis-T16" in w.value for w in app.warning)
    assert any("No evaluation yet" in i.value for i in app.info)


def test_no_page_prints_the_server_s_paths(workspace_dir, registry_dir, monkeypatch):
    """Users of a shared server see their data, not where the server keeps it."""
    monkeypatch.setenv("DFE_MODEL_DIR", str(registry_dir))
    for page in ("library.py", "upload.py", "models.py"):
        app = open_page(page)
        shown = " ".join(str(e.value) for kind in ("markdown", "caption", "text", "code", "info", "success")
                         for e in getattr(app, kind))
        assert not app.exception and shown, page
        assert str(workspace_dir) not in shown and str(registry_dir) not in shown, page


def test_with_login_on_each_user_sees_their_own_and_shared_videos(workspace_dir, demo_video, monkeypatch):
    from core.app.audit import AuditLog
    from core.app.users import UserDirectory
    from core.app.workspace import Ownership
    users = UserDirectory(workspace_dir / "users.yaml")
    users.add("ann", "ann-secret-1")
    users.add("bob", "bob-secret-1")
    monkeypatch.setenv("DFE_USERS_FILE", str(users.path))
    workspace = Workspace(workspace_dir)
    workspace.ensure_demo_video()
    workspace.add_video("anns.mp4", demo_video.read_bytes(), Ownership("ann"))

    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    assert not app.exception and [t.value for t in app.title] == ["Sign in"] and not app.markdown
    app.text_input[0].set_value("ann")
    app.text_input[1].set_value("bob-secret-1")
    app.button[0].click().run()
    assert "unknown user name or wrong password" in app.error[0].value and app.title[0].value == "Sign in"
    app.text_input[1].set_value("ann-secret-1")
    app.button[0].click().run()
    assert not app.exception and app.title[0].value == "Library"
    text = " ".join(m.value for m in app.markdown)
    assert "anns.mp4" in text and "demo.mp4" in text and "Signed in as **ann** (member)" in app.sidebar.caption[0].value
    assert [t.label for t in app.toggle] == ["Shared"]  # ann may share (and delete) only her own video

    bob = AppTest.from_file(APP, default_timeout=120)
    bob.run()
    bob.text_input[0].set_value("bob")
    bob.text_input[1].set_value("bob-secret-1")
    bob.button[0].click().run()
    text = " ".join(m.value for m in bob.markdown)
    assert "demo.mp4" in text and "anns.mp4" not in text and "1 video(s)" in text
    assert not bob.toggle  # the team's demo: only an admin changes it
    bob.switch_page("views/flow.py")
    bob.run()
    assert bob.selectbox[0].options == ["demo.mp4"]

    app.toggle[0].set_value(True).run()  # ann shares her video
    bob.switch_page("views/library.py")
    bob.run()
    assert "anns.mp4" in " ".join(m.value for m in bob.markdown)
    log = [(e["user"], e["action"], e["target"]) for e in reversed(AuditLog(workspace.audit_log).entries())]
    assert log == [("ann", "login_failed", ""), ("ann", "login", ""), ("bob", "login", ""),
                   ("ann", "share_video", "anns.mp4")]
