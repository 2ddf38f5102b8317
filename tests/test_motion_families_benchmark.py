"""benchmarks.motion_families' reference row without a network (what the flow itself holds), and its
gain over random init."""

from __future__ import annotations

import numpy as np

from benchmarks.motion_families import flow_summary, gain_over


def test_the_flow_summary_holds_the_pan_and_the_object_against_it():
    """A pan of 0.5 (preprocessed units) right with a 56x56 object moving 0.25 down in the frame:
    the camera half is the frame's mean flow each way (the object's 1/16 of the frame moves down, not
    right), the scene half the object's motion against the pan (left 0.5, down 0.25), each span alike."""
    clip = np.zeros((16, 224, 224, 2), np.float32)
    clip[..., 0] = 0.5
    clip[:, 56:112, 112:168] = (0.0, 0.25)
    summary = flow_summary(clip[None])
    camera = np.array([0.5 * 15 / 16, 0.0, 0.25 / 16, 0.0] * 2)  # right, left, down, up; two spans
    scene = np.array([0.0, 0.5, 0.25, 0.0] * 2)
    np.testing.assert_allclose(summary[0], np.concatenate([camera / np.linalg.norm(camera),
                                                           scene / np.linalg.norm(scene)]), rtol=1e-5)


def test_the_gain_over_random_init_is_the_difference_and_the_share_of_its_errors_made_good():
    """Camera motion on 8 photographs: random init 49 of 60, the default 59: +0.167, 10 of random
    init's 11 errors made good (91%); a perfect random init leaves no error to make good."""
    assert gain_over(59 / 60, 49 / 60) == "+0.167 (91%)"
    assert gain_over(0.5, 0.75) == "-0.250 (-100%)"
    assert gain_over(1.0, 1.0) == "+0.000 (nan%)"
