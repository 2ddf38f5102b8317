"""Stored evaluation reports found again: readable ones with their plots, unreadable ones named."""

from __future__ import annotations

import json

from core.evaluation.reports import find_reports, same_classes


def write(folder, text: str):
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(text)
    return folder / "report.json"


def test_find_reports_reads_every_run_and_names_the_unreadable(tmp_path):
    first = {"clips": 12, "classes": ["pan_left", "static"], "failed": {}}
    second = {"clips": 8, "classes": ["pan_left", "zoom_in"], "failed": {"broken.mp4": "no frames"}}
    write(tmp_path / "motions-b" / "v2-dis-T16", json.dumps(second))
    path = write(tmp_path / "motions-a" / "v1-dis-T16", json.dumps(first))
    write(tmp_path / "motions-a" / "v3-dis-T16", '{"clips": 3, "classes": [')  # cut short
    (tmp_path / "motions-a" / "stray.json").write_text("{}")  # not a run folder
    reports, unreadable = find_reports(tmp_path)
    assert [r.name for r in reports] == ["motions-a / v1-dis-T16", "motions-b / v2-dis-T16"]
    assert reports[0].path == path and reports[0].report == first
    assert reports[0].confusion_matrix == path.parent / "confusion_matrix.png"
    assert reports[0].projection == path.parent / "projection.png"
    assert [name for name, _ in unreadable] == ["motions-a / v3-dis-T16"] and unreadable[0][1]
    assert reports[0].summary() == "12 windows, 2 classes"
    assert reports[1].summary() == "8 windows, 2 classes; inputs that failed: broken.mp4"
    assert not same_classes(first, second) and same_classes(first, dict(first, clips=1))


def test_no_evaluations_folder_means_no_reports(tmp_path):
    assert find_reports(tmp_path / "evaluations") == ([], [])
