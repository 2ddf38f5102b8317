"""Stored flow for a video: formats, skipping finished work, and nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import CorruptVideoError
from core.flow.pipeline import FlowJob, compute_video_flow
from core.flow.store import find_complete, load_flow


@pytest.mark.parametrize("fmt", ["npy", "jpg", "flo"])
def test_each_format_stores_flow_with_its_time_base(panning_video, tmp_path, fmt):
    result = compute_video_flow(panning_video, tmp_path, FlowJob(method="dis", format=fmt, i3d=False))
    assert not result.skipped
    record = json.loads((tmp_path / "pan.json").read_text())
    assert record["fps"] == 25.0 and record["num_flow_frames"] == 11 and record["format"] == fmt
    assert record["method"] == "dis" and record["params"]["preset"] == "medium"
    flow, stored = load_flow(tmp_path, "pan")
    assert flow.shape == (11, 64, 96, 2)
    assert stored.source.size == panning_video.stat().st_size


def test_second_run_skips_and_changed_settings_recompute(panning_video, tmp_path):
    job = FlowJob(method="dis", i3d=False)
    compute_video_flow(panning_video, tmp_path, job)
    mtime = (tmp_path / "pan.npy").stat().st_mtime_ns
    assert compute_video_flow(panning_video, tmp_path, job).skipped
    assert (tmp_path / "pan.npy").stat().st_mtime_ns == mtime
    changed = compute_video_flow(panning_video, tmp_path, FlowJob(method="dis", i3d=False,
                                                                   params={"preset": "fast"}))
    assert not changed.skipped and changed.record.params["preset"] == "fast"
    assert json.loads((tmp_path / "pan.json").read_text())["params"]["preset"] == "fast"
    jpg = compute_video_flow(panning_video, tmp_path, FlowJob(method="dis", format="jpg", i3d=False))
    assert not jpg.skipped and jpg.record.format == "jpg" and jpg.record.num_flow_frames == 11
    assert json.loads((tmp_path / "pan.json").read_text())["format"] == "jpg"
    assert (tmp_path / "pan").is_dir() and load_flow(tmp_path, "pan")[0].shape == (11, 64, 96, 2)
    assert not (tmp_path / "pan.npy").exists()  # stale data of another format is removed


def test_truncated_output_is_recomputed(panning_video, tmp_path):
    job = FlowJob(method="dis", i3d=False)
    compute_video_flow(panning_video, tmp_path, job)
    data = tmp_path / "pan.npy"
    data.write_bytes(data.read_bytes()[:-1000])
    assert find_complete(tmp_path, "pan") is None
    assert not compute_video_flow(panning_video, tmp_path, job).skipped
    assert np.load(data).shape == (11, 64, 96, 2)


def test_interrupted_run_leaves_nothing_that_looks_complete(panning_video, tmp_path):
    def interrupt(done, total):
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compute_video_flow(panning_video, tmp_path, FlowJob(method="dis"), progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_video_writes_nothing(demo_video, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(demo_video.read_bytes()[:3000])
    out = tmp_path / "out"
    with pytest.raises(CorruptVideoError):
        compute_video_flow(broken, out, FlowJob(method="dis"))
    assert not out.exists() or list(out.iterdir()) == []
