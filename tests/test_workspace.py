"""The workspace: safe upload names, checks before keeping a file, deleting derived files."""

from __future__ import annotations

import pytest

from core.errors import DFEError

from core.flow.pipeline import FlowJob, compute_video_flow
from core.video.decode import read_frame
from core.app.users import LOCAL_USER, User
from core.app.workspace import AccessDeniedError, Ownership, UploadError, Workspace, safe_file_name, video_id


def test_upload_names_cannot_escape_the_workspace():
    assert safe_file_name("../../etc/passwd.mp4") == "passwd.mp4"
    assert safe_file_name("C:\\Users\\me\\My Clip (1).MOV") == "My_Clip_1.mov"
    assert safe_file_name("..") == "video" and safe_file_name("a/b/.mp4") == "video.mp4"


def test_add_video_checks_and_never_overwrites(tmp_path, demo_video, one_frame_video):
    workspace = Workspace(tmp_path)
    first = workspace.add_video("clip.mp4", demo_video.read_bytes())
    second = workspace.add_video("clip.mp4", demo_video.read_bytes())
    assert (first.name, second.name) == ("clip.mp4", "clip_1.mp4")
    with pytest.raises(UploadError, match="1 frame"):
        workspace.add_video("short.mp4", one_frame_video.read_bytes())
    with pytest.raises(UploadError, match="not a supported video type"):
        workspace.add_video("notes.txt", b"hello")
    assert sorted(p.name for p in workspace.videos_dir.iterdir()) == ["clip.mp4", "clip_1.mp4"]


def test_delete_removes_the_video_its_flow_and_its_gallery_and_nothing_of_a_same_stem_video(
        tmp_path, demo_video, panning_video):
    workspace = Workspace(tmp_path)
    mp4 = workspace.add_video("clip.mp4", demo_video.read_bytes())
    mkv = workspace.add_video("clip.mkv", panning_video.read_bytes())
    for video in (mp4, mkv):
        compute_video_flow(video, workspace.flow_dir("dis"), FlowJob(method="dis"), name=video_id(video))
    assert workspace.status(mp4).flow["dis"].num_flow_frames == 19  # its own flow, not the mkv's 11
    assert workspace.status(mkv).flow["dis"].num_flow_frames == 11
    drawn = workspace.gallery_folder(video_id(mkv), "Mixed_4f", 0, [1, 2])
    drawn.mkdir(parents=True)
    (drawn / "feature_heatmap.png").write_bytes(b"png")
    workspace.delete_video(mkv, by=LOCAL_USER)
    assert not mkv.exists() and not workspace.gallery_dir(video_id(mkv)).exists()
    assert sorted(p.name for p in workspace.flow_dir("dis").iterdir()) == ["clip.mp4.json", "clip.mp4.npy"]
    assert set(workspace.status(mp4).flow) == {"dis"}


def test_read_frame_seeks_to_the_frame(demo_video):
    from core.video.decode import iter_frames
    frames = list(iter_frames(demo_video))
    assert (read_frame(demo_video, 7) == frames[7]).all()
    with pytest.raises(ValueError, match="outside"):
        read_frame(demo_video, 99)


def test_stage_import_keeps_each_upload_in_its_own_folder_under_a_safe_name(tmp_path):
    workspace = Workspace(tmp_path)
    first = workspace.stage_import("../../my model (v2).H5", b"first")
    second = workspace.stage_import("../../my model (v2).H5", b"second")
    assert first.name == second.name == "my_model_v2.h5" and first.parent != second.parent
    assert first.parent.parent == second.parent.parent == tmp_path / "imports"
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


def test_gallery_views_group_the_pictures_by_folder_and_load_the_activations(tmp_path):
    import numpy as np
    workspace = Workspace(tmp_path)
    assert workspace.gallery_views("clip") == {}
    later = workspace.gallery_folder("clip", "Mixed_4f", 1, [3])
    earlier = workspace.gallery_folder("clip", "Mixed_4f", 0, [3, 7])
    for folder, names in ((later, ["b.png", "a.gif"]), (earlier, ["c.png", "notes.txt"])):
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_bytes(b"picture")
    (workspace.gallery_dir("clip") / "empty").mkdir()
    activations = np.arange(2 * 3 * 3 * 4, dtype=np.float32).reshape(2, 3, 3, 4)
    np.save(earlier / "activations.npy", activations)
    views = workspace.gallery_views("clip")
    assert list(views) == [earlier, later]
    assert [p.name for p in views[earlier]] == ["c.png"] and [p.name for p in views[later]] == ["a.gif", "b.png"]
    loaded = workspace.gallery_activations("clip", "Mixed_4f", 0, [3, 7])
    assert loaded.shape == (1, 2, 3, 3, 4) and np.array_equal(loaded[0], activations)


def test_one_choice_of_motions_is_one_dataset_in_any_order(tmp_path):
    from core.app.workspace import motions_dataset
    spec = motions_dataset(["static", "pan_left"], 2, 17)
    assert spec == {"kind": "motions", "motions": ["pan_left", "static"], "scenes": 2, "frames": 17}
    workspace = Workspace(tmp_path)
    assert workspace.dataset_dir(spec) == workspace.dataset_dir(motions_dataset(["pan_left", "static"], 2, 17))
    assert workspace.dataset_dir(spec) != workspace.dataset_dir(motions_dataset(["pan_left", "static"], 3, 17))


def test_two_uploads_of_one_name_at_the_same_moment_both_keep_their_own_bytes(tmp_path, demo_video, panning_video):
    import threading

    workspace = Workspace(tmp_path)
    contents = {"demo": demo_video.read_bytes(), "pan": panning_video.read_bytes()}
    start, kept, errors = threading.Barrier(2), {}, []

    def upload(who: str) -> None:
        start.wait()  # both uploads run at once, in one process, as two users' sessions do
        try:
            kept[who] = workspace.add_video("clip.mp4", contents[who], Ownership(who))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=upload, args=(who,)) for who in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(p.name for p in kept.values()) == ["clip.mp4", "clip_1.mp4"]
    assert {who: path.read_bytes() == contents[who] for who, path in kept.items()} == {"demo": True, "pan": True}
    assert {who: workspace.ownership(path).owner for who, path in kept.items()} == {"demo": "demo", "pan": "pan"}
    assert sorted(p.name for p in workspace.videos_dir.iterdir()) == ["clip.mp4", "clip_1.mp4"]  # no leftovers


def test_a_refused_upload_names_the_users_file_not_a_temporary_one(tmp_path):
    with pytest.raises(UploadError) as refused:
        Workspace(tmp_path).add_video("holiday.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    assert str(refused.value).startswith("holiday.mp4: ") and ".upload" not in str(refused.value)
    assert "holiday.mp4 looks like a video container but cannot be decoded" in str(refused.value)


def test_starting_the_runner_removes_what_killed_jobs_and_uploads_left(tmp_path):
    from core.app.runner import workspace_runner

    workspace = Workspace(tmp_path / "ws")
    kept = [workspace.videos_dir / "clip.mp4", workspace.flow_dir("dis") / "clip.mp4.npy",
            workspace.features_dir / ".hidden-but-not-temporary.json"]
    leftovers = [workspace.flow_dir("dis") / ".clip.mp4.1a2b3c4d.tmp.npy",
                 workspace.features_dir / ".tmp-1a2b3c4d-clip.mp4.npy",
                 workspace.videos_dir / ".upload-0123abcd" / "clip.mp4",
                 workspace.flow_dir("tvl1") / ".clip.mp4.1a2b3c4d.tmp" / "frame_0001.jpg"]
    for path in kept + leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    runner = workspace_runner(workspace, tmp_path / "models")
    runner.close()
    assert all(path.exists() for path in kept)
    assert not any(path.exists() for path in leftovers)
    assert not (workspace.videos_dir / ".upload-0123abcd").exists()
    assert not (workspace.flow_dir("tvl1") / ".clip.mp4.1a2b3c4d.tmp").exists()


def test_an_upload_of_a_video_already_here_is_found_by_its_content(tmp_path, demo_video):
    workspace = Workspace(tmp_path)
    data = demo_video.read_bytes()
    assert workspace.same_content(data, LOCAL_USER) is None
    kept = workspace.add_video("first.mp4", data, Ownership("ann"))
    assert workspace.same_content(data, LOCAL_USER) == kept
    changed = bytearray(data)
    changed[-1] ^= 0xFF  # same size, other bytes
    assert workspace.same_content(bytes(changed), LOCAL_USER) is None
    assert workspace.same_content(data, User("bob", "member")) is None  # ann's video is not offered to bob


def test_members_see_their_own_and_shared_videos_and_only_owners_or_admins_delete(tmp_path, demo_video):
    workspace = Workspace(tmp_path)
    ann, bob, admin = User("ann", "member"), User("bob", "member"), User("root", "admin")
    demo = workspace.ensure_demo_video()
    private = workspace.add_video("mine.mp4", demo_video.read_bytes(), Ownership("ann"))
    shared = workspace.add_video("ours.mp4", demo_video.read_bytes(), Ownership("ann", shared=True))
    by_hand = workspace.videos_dir / "copied.mp4"  # put into the folder outside the dashboard
    by_hand.write_bytes(demo_video.read_bytes())
    names = lambda user: [v.name for v in workspace.visible_videos(user)]  # noqa: E731
    assert names(ann) == ["demo.mp4", "mine.mp4", "ours.mp4"]
    assert names(bob) == ["demo.mp4", "ours.mp4"]
    assert names(admin) == ["copied.mp4", "demo.mp4", "mine.mp4", "ours.mp4"]
    with pytest.raises(DFEError, match="no video 'mine.mp4'"):  # the same words as for a missing video
        workspace.visible_video(bob, "mine.mp4")
    for video in (private, shared, demo):
        with pytest.raises(AccessDeniedError, match="only the owner"):
            workspace.delete_video(video, by=bob)
    assert private.exists() and shared.exists() and demo.exists()
    workspace.delete_video(shared, by=ann)
    workspace.delete_video(demo, by=admin)
    assert names(admin) == ["copied.mp4", "mine.mp4"]
    assert not (workspace.owners_dir / "ours.mp4.json").exists()
    again = workspace.add_video("ours.mp4", demo_video.read_bytes(), Ownership("bob"))
    assert workspace.ownership(again) == Ownership("bob")  # a new video of a deleted one's name is not ann's
