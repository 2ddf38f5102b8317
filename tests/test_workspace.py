"""The workspace: safe upload names, checks before keeping a file, deleting derived files."""

from __future__ import annotations

import pytest

from core.flow.pipeline import FlowJob, compute_video_flow
from core.video.decode import read_frame
from core.app.workspace import UploadError, Workspace, safe_file_name


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


def test_delete_removes_the_video_its_flow_and_its_gallery(tmp_path, demo_video):
    workspace = Workspace(tmp_path)
    video = workspace.add_video("demo.mp4", demo_video.read_bytes())
    compute_video_flow(video, workspace.flow_dir("dis"), FlowJob(method="dis"))
    assert set(workspace.status(video).flow) == {"dis"}
    drawn = workspace.gallery_folder(video.stem, "Mixed_4f", 0, [1, 2])
    drawn.mkdir(parents=True)
    (drawn / "feature_heatmap.png").write_bytes(b"png")
    workspace.delete_video(video)
    assert not video.exists() and not any(workspace.flow_dir("dis").iterdir())
    assert not workspace.gallery_dir(video.stem).exists()


def test_read_frame_seeks_to_the_frame(demo_video):
    from core.video.decode import iter_frames
    frames = list(iter_frames(demo_video))
    assert (read_frame(demo_video, 7) == frames[7]).all()
    with pytest.raises(ValueError, match="outside"):
        read_frame(demo_video, 99)
