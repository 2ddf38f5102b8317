"""The motion curriculum: clips move the way their parameters say, are reproducible, and the
photographs' train and test scenes never overlap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.errors import ConfigError, DFEError
from core.flow.computer import OpticalFlowComputer
from core.training.curriculum import (OBJECT_MOTIONS, CurriculumClip, CurriculumSampler, ImageSource, ObjectSpec,
                                      curriculum_clip_flow, motion_parameters, render_curriculum_clip)
from core.training.photographs import PhotographsMissingError, photograph_paths, scene_key

SIZE = 96
TEXTURE = ImageSource("texture", "3")


def clip_with(camera: str = "static", camera_speed: float = 0.0, objects=(), jpeg_quality: int = 0) -> CurriculumClip:
    return CurriculumClip("object", TEXTURE, camera, camera_speed, 0.0, tuple(objects), 0.0, 1.0, jpeg_quality, 9)


def object_moving(motion: str, speed: float) -> ObjectSpec:
    return ObjectSpec(motion, speed, ImageSource("texture", "8"), 40, (0.5, 0.5), 4)


@pytest.fixture(scope="module")
def computer():
    return OpticalFlowComputer("dis", workers=1)


def test_an_object_moving_right_moves_right_over_a_still_background(computer):
    flow = curriculum_clip_flow(clip_with(objects=[object_moving("right", 2.0)]), computer, num_frames=5, size=SIZE)
    assert flow.shape == (4, SIZE, SIZE, 2)
    centre, corner = flow[:, 42:54, 42:54].mean((0, 1, 2)), flow[:, :16, :16].mean((0, 1, 2))
    assert 1.5 < centre[0] < 2.5 and abs(centre[1]) < 0.4  # the object: 2 px/frame to the right
    assert np.abs(corner).max() < 0.2  # the background stays


def test_an_object_on_a_panning_camera_moves_by_both(computer):
    clip = clip_with("pan_left", 2.0, objects=[object_moving("up", 2.0)])
    flow = curriculum_clip_flow(clip, computer, num_frames=5, size=SIZE)
    background, obj = flow[:, :16, :16].mean((0, 1, 2)), flow[:, 44:52, 44:52].mean((0, 1, 2))
    assert background[0] > 1.5 and abs(background[1]) < 0.4  # the camera pans left: content moves right
    assert obj[0] > 1.5 and obj[1] < -1.5  # the object: the pan's +x plus its own upward motion


def test_a_hand_held_jitter_moves_the_background_as_the_clips_parameters_say(computer):
    """A still camera with 0.6 px per frame of jitter (a random walk): the background moves (until
    rendering 2 the jitter was drawn and never rendered), each time span by the camera velocity
    `motion_parameters` gives it, as DIS measures it."""
    clip = CurriculumClip("object", TEXTURE, "static", 0.0, 0.6, (), 0.0, 1.0, 0, 11)
    flow = curriculum_clip_flow(clip, computer, num_frames=9, size=SIZE)
    camera = motion_parameters(clip, num_frames=9, size=SIZE, periods=2).reshape(2, 2, 4)[:, 0]
    for span in range(2):
        measured = flow[4 * span:4 * span + 4, 16:-16, 16:-16].mean((0, 1, 2))
        assert np.hypot(*measured) > 0.3, measured
        np.testing.assert_allclose(measured, camera[span, :2], atol=0.05)
    np.testing.assert_array_equal(camera[:, 2:], 0)  # no zoom, no turn


def test_objects_turning_clockwise_and_anticlockwise_have_opposite_flow(computer):
    def above_and_below(motion: str) -> tuple[float, float]:
        flow = curriculum_clip_flow(clip_with(objects=[object_moving(motion, 8.0)]), computer, num_frames=3,
                                    size=SIZE)[0]
        return flow[34:42, 40:56, 0].mean(), flow[54:62, 40:56, 0].mean()

    # clockwise on screen (y down): above the centre the object moves right, below it moves left
    (cw_above, cw_below), (ccw_above, ccw_below) = above_and_below("turn_cw"), above_and_below("turn_ccw")
    assert cw_above > 0.1 and cw_below < -0.1
    assert ccw_above < -0.1 and ccw_below > 0.1


def test_growing_objects_and_clips_are_reproducible():
    grown = render_curriculum_clip(clip_with(objects=[object_moving("grow", 0.05)]), num_frames=9, size=SIZE)
    covered = [(np.abs(frame.astype(int) - grown[0].astype(int)).sum(-1) > 0).sum() for frame in grown[[1, 8]]]
    assert covered[1] > covered[0] > 0
    sampler_a, sampler_b = CurriculumSampler([], seed=2), CurriculumSampler([], seed=2)
    clips = sampler_a.clips(6, ("camera", "object", "composed"))
    assert clips == sampler_b.clips(6, ("camera", "object", "composed"))
    assert [c.family for c in clips] == ["camera", "object", "composed"] * 2
    assert all(c.camera == "static" for c in clips if c.family == "object")
    assert all(c.camera != "static" and c.objects for c in clips if c.family == "composed")
    np.testing.assert_array_equal(render_curriculum_clip(clips[2], 3, SIZE), render_curriculum_clip(clips[2], 3, SIZE))


def test_object_labels_are_multi_hot_over_the_moving_objects():
    clip = clip_with(objects=[object_moving("left", 1.0), object_moving("still", 0.0), object_moving("swing", 30.0)])
    assert clip.main_object_motion == "left"
    assert [OBJECT_MOTIONS[i] for i in np.flatnonzero(clip.object_labels)] == ["left", "swing"]


def test_object_shares_weigh_each_motion_by_the_area_of_its_objects():
    """Two 40 px objects going left and one 80 px going right: left has 2 x 1600 of the 6400 + 3200 px²."""
    big_right = ObjectSpec("right", 1.0, ImageSource("texture", "8"), 80, (0.5, 0.5), 4)
    clip = clip_with(objects=[object_moving("left", 1.0), object_moving("still", 0.0), object_moving("left", 2.0),
                              big_right])
    shares = dict(zip(OBJECT_MOTIONS, clip.object_shares))
    assert shares["left"] == pytest.approx(1 / 3) and shares["right"] == pytest.approx(2 / 3)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert not clip_with(objects=[object_moving("still", 0.0)]).object_shares.any()


def test_motion_parameters_are_the_clips_motion_as_numbers():
    """Per time span (2 of 8 frame steps): the camera's content motion (vx, vy, log-scale rate, turn in
    degrees counter-clockwise), then the moving objects' own, each weighted by its area share
    ((40 / 96)² for a 40 px object in a 96 px frame), from the clips' speeds."""
    share = (40 / SIZE) ** 2

    def parameters(camera="static", camera_speed=0.0, objects=()) -> np.ndarray:
        values = motion_parameters(clip_with(camera, camera_speed, objects), num_frames=17, size=SIZE, periods=2)
        assert values.shape == (16,) and values.dtype == np.float32
        return values.reshape(2, 2, 4)  # span, camera | objects, MOTION_PARAMETERS

    both_spans = np.array([[1.0], [1.0]])
    np.testing.assert_allclose(parameters("pan_left", 2.0)[:, 0], both_spans * [2.0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(parameters("pan_down", 1.5)[:, 0], both_spans * [0, -1.5, 0, 0], atol=1e-6)
    np.testing.assert_allclose(parameters("zoom_in", 0.02)[:, 0], both_spans * [0, 0, np.log(1.02), 0], atol=1e-6)
    np.testing.assert_allclose(parameters("rotate_ccw", 1.5)[:, 0], both_spans * [0, 0, 0, 1.5], atol=1e-5)
    moving = parameters(objects=[object_moving("right", 2.0), object_moving("turn_cw", 6.0),
                                 object_moving("still", 0.0)])
    np.testing.assert_allclose(moving[:, 0], 0, atol=1e-6)  # a still camera
    np.testing.assert_allclose(moving[:, 1], both_spans * [2.0 * share, 0, 0, -6.0 * share], atol=1e-5)
    np.testing.assert_allclose(parameters(objects=[object_moving("grow", 0.05)])[:, 1],
                               both_spans * [0, 0, np.log(1.05) * share, 0], atol=1e-6)
    swing = 30 * np.sin(2 * np.pi * np.array([0, 8, 16]) / 12)  # a swing's angle at each span's ends
    np.testing.assert_allclose(parameters(objects=[object_moving("swing", 30.0)])[:, 1, 3],
                               np.diff(swing) / 8 * share, atol=1e-5)
    np.testing.assert_allclose(parameters("pan_right", 2.0, [object_moving("deform", 0.3)])[:, 1], 0, atol=1e-6)
    with pytest.raises(ConfigError, match="3 equal time spans"):
        motion_parameters(clip_with(), num_frames=17, size=SIZE, periods=3)


def test_swings_start_anywhere_in_their_cycle_when_asked_and_nothing_else_changes():
    """Every swing starts at rest turning counter-clockwise, so over the first half clip (frames 0
    to 8, two thirds of its cycle) it always ends turned clockwise; with `random_swing_phase` a
    third to two thirds of the swings turn counter-clockwise there, the phases spread over the
    cycle, and every other clip and object is the one drawn without it."""
    def first_half_turns(clips) -> np.ndarray:
        swings = [c for c in clips if [o.motion for o in c.objects] == ["swing"]]
        return np.array([motion_parameters(c, size=SIZE)[7] for c in swings])  # objects' turn, first span

    fixed = CurriculumSampler([], 5, object_motions=["swing", "left"], single_object_share=1.0).clips(120, ["object"])
    drawn = CurriculumSampler([], 5, object_motions=["swing", "left"], single_object_share=1.0,
                              random_swing_phase=True).clips(120, ["object"])
    assert (first_half_turns(fixed) < 0).all()
    turns = first_half_turns(drawn)
    assert len(turns) > 40 and 1 / 3 < np.mean(turns > 0) < 2 / 3
    phases = np.array([o.phase for c in drawn for o in c.objects if o.motion == "swing"])
    assert phases.min() >= 0 and phases.max() < 2 * np.pi and np.ptp(phases) > 5
    assert [o.phase for c in drawn for o in c.objects if o.motion != "swing"] == [0.0] * (120 - len(phases))
    assert [replace(o, phase=0.0) for c in drawn for o in c.objects] == [o for c in fixed for o in c.objects]


def test_the_recipe_refuses_unknown_object_targets():
    from core.training.motion_curriculum import object_targets

    clips = [clip_with(objects=[object_moving("left", 1.0)])]
    np.testing.assert_array_equal(object_targets(clips, "area_share"), object_targets(clips, "present"))
    with pytest.raises(ConfigError, match="'majority'"):
        object_targets(clips, "majority")


def test_photographs_split_by_scene(opencv_doc):
    train, test = photograph_paths("train", opencv_doc), photograph_paths("test", opencv_doc)
    assert len(train) >= 50 and len(test) >= 8
    assert not {scene_key(p) for p in train} & {scene_key(p) for p in test}
    assert scene_key(opencv_doc / "left07.jpg") == scene_key(opencv_doc / "right01.jpg")


def test_a_folder_without_photographs_is_a_clear_error(tmp_path):
    with pytest.raises(PhotographsMissingError, match="opencv-doc"):
        photograph_paths("train", tmp_path)


def test_training_never_sees_the_held_out_composed_pairs(opencv_doc):
    from core.training.motion_curriculum import training_clips
    from core.training.motion_families import PANS, TRANSLATIONS
    from core.training.recipe import CurriculumRecipe

    clips = training_clips(CurriculumRecipe(clips=300))
    composed = [c for c in clips if c.family == "composed"]
    assert len(composed) == 120 and {c.family for c in clips} == {"camera", "object", "composed"}  # 2 of 5
    assert not [c for c in composed if c.camera in PANS and {o.motion for o in c.objects} & set(TRANSLATIONS)]
    assert any(c.camera in PANS for c in composed)  # pans are trained, with other object motions
    test_photos = {str(p) for p in photograph_paths("test", opencv_doc)}
    assert not [c for c in clips if c.background.ref in test_photos]


def test_a_larger_composed_set_extends_the_default_one_on_more_unseen_scenes(opencv_doc):
    from core.training.motion_families import family_sets

    test_photos = photograph_paths("test", opencv_doc)
    default = family_sets(test_photos)
    larger = family_sets(test_photos, composed_scenes=len(test_photos))
    assert [len(default[f].clips) for f in ("object", "camera", "composed")] == [64, 60, 64]
    assert len(larger["composed"].clips) == 16 * len(test_photos) and len(larger["object"].clips) == 64
    assert larger["composed"].clips[:64] == default["composed"].clips  # the same draws, then more
    assert np.bincount(larger["composed"].labels).tolist() == [len(test_photos)] * 16
    assert {c.background.ref for c in larger["composed"].clips} == {str(p) for p in test_photos}
    assert len(family_sets(test_photos, scenes=2)["composed"].clips) == 32  # at most `scenes` by default


def test_the_composed_score_per_part_says_which_part_the_nearest_clip_gets_wrong():
    """Two scenes of the 16 pan+translation pairs: features where each clip's one exact twin has its pan
    and the next translation score camera 1, object 0; the other way round camera 0, object 1."""
    from core.evaluation.metrics import knn_loo_predictions
    from core.training.motion_families import PANS, TRANSLATIONS, MotionFamilySet, composed_part_scores

    pairs = [(p, t, scene) for scene in range(2) for p in range(4) for t in range(4)]
    composed = MotionFamilySet("composed", [], np.array([4 * p + t for p, t, _ in pairs]),
                               [f"{p}+object_{t}" for p in PANS for t in TRANSLATIONS])
    eye = np.eye(4)
    same_pan = np.array([np.concatenate([eye[p], eye[(t + scene) % 4]]) for p, t, scene in pairs])
    same_translation = np.array([np.concatenate([eye[(p + scene) % 4], eye[t]]) for p, t, scene in pairs])
    nearest = {name: knn_loo_predictions(features, composed.labels, 1)
               for name, features in (("same_pan", same_pan), ("same_translation", same_translation))}
    assert composed_part_scores(composed, nearest["same_pan"]) == {"camera": 1.0, "object": 0.0}
    assert composed_part_scores(composed, nearest["same_translation"]) == {"camera": 0.0, "object": 1.0}


def test_the_turn_score_counts_turns_found_to_turn_and_their_direction_against_a_blind_draw():
    """13 scenes of the 8 rigid object motions: predictions that give every turn the other turn find
    26 turns turning and none right; the same with 4 turns predicted as grow, 22 turning. A model
    blind to direction gets 26 x 12/25 = 12.48 right on average (sd 2.55)."""
    from core.training.curriculum import RIGID_OBJECT_MOTIONS
    from core.training.motion_families import MotionFamilySet, turn_scores

    labels = np.tile(np.arange(8), 13)
    objects = MotionFamilySet("object", [], labels, list(RIGID_OBJECT_MOTIONS))
    cw, ccw, grow = (RIGID_OBJECT_MOTIONS.index(m) for m in ("turn_cw", "turn_ccw", "grow"))
    other_way = np.where(labels == cw, ccw, np.where(labels == ccw, cw, labels))
    scores = turn_scores(objects, other_way)
    assert (scores["turns"], scores["turning"], scores["right"]) == (26, 26, 0)
    assert scores["blind_mean"] == pytest.approx(26 * 12 / 25) and scores["blind_sd"] == pytest.approx(2.548, abs=1e-3)
    some_grow = other_way.copy()
    some_grow[np.flatnonzero(labels == cw)[:4]] = grow
    assert turn_scores(objects, some_grow)["turning"] == 22
    assert turn_scores(objects, labels)["right"] == 26


def test_a_held_out_object_motion_is_in_no_training_clip(opencv_doc):
    from core.training.motion_curriculum import training_clips
    from core.training.recipe import CurriculumRecipe

    clips = training_clips(CurriculumRecipe(clips=300, held_out_objects=("turn_cw", "turn_ccw")))
    motions = {o.motion for c in clips for o in c.objects}
    assert not motions & {"turn_cw", "turn_ccw"} and {"left", "grow", "swing"} <= motions
    with pytest.raises(ConfigError, match="spin"):
        training_clips(CurriculumRecipe(clips=3, held_out_objects=("spin",)))
    with pytest.raises(ConfigError, match=r"families \['camera', 'walk'\]: name one or more of"):
        training_clips(CurriculumRecipe(clips=3, families=("camera", "walk")))


def test_the_layout_target_is_relative_to_the_camera_unless_the_recipe_says_otherwise():
    """A pan of 0.5 (preprocessed units) right with a 56x56 object moving 0.25 down in the frame: a
    4x4, 2-span layout holds only the object, down and against the pan, in its region (pooled over
    the regions: the object's motion in each span)."""
    from dataclasses import replace

    from core.training.motion_curriculum import layout_target, regression_targets
    from core.training.recipe import CurriculumRecipe

    clip = np.zeros((16, 224, 224, 2), np.float32)
    clip[..., 0] = 0.5
    clip[:, 56:112, 112:168] = (0.0, 0.25)  # grid row 1, column 2
    recipe = CurriculumRecipe(layout_grid=4, layout_periods=2)
    cells = layout_target(clip, recipe).reshape(2, 4, 4, 4)  # time span, row, column, (right, left, down, up)
    expected = np.zeros((2, 4, 4, 4), np.float32)
    expected[:, 1, 2] = (0.0, 0.5, 0.25, 0.0)
    np.testing.assert_allclose(cells, expected)
    pooled = regression_targets([], replace(recipe, layout_pooling="max"), layout_target(clip, recipe)[None])
    np.testing.assert_allclose(pooled["layout"][0], [[0.0, 0.5, 0.25, 0.0] * 2])  # the object's region, per span
    assert pooled["layout"][1] == recipe.layout_weight
    absolute = layout_target(clip, replace(recipe, layout_camera_relative=False)).reshape(2, 4, 4, 4)
    expected = np.zeros((2, 4, 4, 4), np.float32)
    expected[..., 0] = 0.5
    expected[:, 1, 2] = (0.0, 0.0, 0.25, 0.0)
    np.testing.assert_allclose(absolute, expected)


def test_train_default_options_reach_the_recipe():
    from core.cli.main import build_parser
    from core.cli.weights import curriculum_recipe
    from core.training.recipe import CurriculumRecipe

    def recipe(*options: str) -> CurriculumRecipe:
        return curriculum_recipe(build_parser().parse_args(["weights", "train-default", *options]))

    assert recipe() == CurriculumRecipe()
    assert recipe("--families", "camera", "object", "composed", "composed", "--no-layout_camera_relative",
                  "--layout_grid", "4", "--flow_methods", "dis", "farneback") == CurriculumRecipe(
        families=("camera", "object", "composed", "composed"), layout_camera_relative=False, layout_grid=4,
        flow_methods=("dis", "farneback"))
    assert recipe("--boundary", "Mixed_4e", "--epochs", "9", "--clips", "80") == CurriculumRecipe(
        boundary="Mixed_4e", epochs=9, clips=80)
    assert recipe("--layout_grid", "4", "--layout_pooling", "max") == CurriculumRecipe(layout_grid=4,
                                                                                       layout_pooling="max")
    assert recipe("--deeper_boundary", "Mixed_4d", "--deeper_epochs", "2") == CurriculumRecipe(
        deeper_boundary="Mixed_4d", deeper_epochs=2)
    assert recipe("--deeper_boundary", "").stages == [("MaxPool3d_5a_2x2", 15)]  # one stage
    assert recipe("--contrastive_weight", "0", "--neighbour_weight", "0.5") == CurriculumRecipe(
        contrastive_weight=0.0, neighbour_weight=0.5)
    assert recipe("--random_swing_phase") == CurriculumRecipe(random_swing_phase=True)
    assert recipe("--contrastive_projection", "256").contrastive_projection == 256
    assert recipe("--object_weight", "5").object_weight == 5.0
    assert recipe("--contrastive_layout", "1.5").contrastive_layout == 1.5
    assert recipe("--parameter_weight", "0.5", "--parameter_periods", "4") == CurriculumRecipe(
        parameter_weight=0.5, parameter_periods=4)
    assert recipe("--held_out_objects", "turn_cw", "--output", "x.npz").held_out_objects == ("turn_cw",)
    with pytest.raises(DFEError, match="give --output"):
        recipe("--held_out_objects", "turn_cw")


def test_train_default_help_states_the_recipes_own_defaults(monkeypatch, capsys):
    """The help reads each default from `CurriculumRecipe`: a recipe with other defaults shows those."""
    from functools import partial

    import core.cli.weights
    from core.cli.main import build_parser
    from core.training.recipe import CurriculumRecipe

    def train_default_help() -> str:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["weights", "--help"])
        return " ".join(capsys.readouterr().out.split())

    shipped = train_default_help()
    assert "(default: the recipe's, camera object object composed composed;" in shipped
    assert "(default: the recipe's, MaxPool3d_5a_2x2: Mixed_5b, Mixed_5c)" in shipped
    monkeypatch.setattr(core.cli.weights, "CurriculumRecipe", partial(
        CurriculumRecipe, families=("object", "composed"), clips=640, deeper_boundary="Mixed_4d",
        layout_camera_relative=False, contrastive_weight=0.5))
    other = train_default_help()
    assert "(default: the recipe's, object composed;" in other and "(default: the recipe's, 640)" in other
    assert "(default: the recipe's, Mixed_4d: Mixed_4e, Mixed_4f, Mixed_5b, Mixed_5c;" in other
    assert "out before the layout (default: the recipe's, no)" in other
    assert "(core.training.contrastive; default: the recipe's, 0.5; 0: none)" in other


def test_the_sampler_draws_smaller_slower_and_more_objects_when_asked():
    """People seen from afar: objects from 16 px across, translating from a quarter of the usual
    slowest speed (1 px/frame), up to 5 per clip."""
    from core.training.curriculum import CurriculumSampler

    sampler = CurriculumSampler([], 3, object_motions=["left"], object_sizes=(16, 32), slowest_object=0.25,
                                max_objects=5)
    clips = sampler.clips(300, ["object"])
    objects = [obj for clip in clips for obj in clip.objects]
    counts = [len(clip.objects) for clip in clips]
    sizes, speeds = np.array([o.size for o in objects]), np.array([o.speed for o in objects])
    assert sizes.min() >= 16 and sizes.max() < 32 and speeds.min() >= 0.25 and speeds.max() <= 3.5
    assert np.mean(speeds < 1.0) > 0.1 and max(counts) == 5


def test_flow_methods_are_drawn_per_clip_across_every_family():
    """A mixed-flow recipe: each method computes about its share of clips, in every family (the
    families come in turns, the methods must not)."""
    from core.training.motion_curriculum import clip_flow_methods
    from core.training.recipe import CurriculumRecipe

    recipe = CurriculumRecipe(flow_methods=("dis", "farneback", "tvl1_dis"))
    methods = np.array(clip_flow_methods(recipe, 600))
    for family in range(3):
        counts = [np.sum(methods[family::3] == m) for m in recipe.flow_methods]
        assert min(counts) >= 45, counts  # 200 clips per family; each method expects ~67
    assert clip_flow_methods(CurriculumRecipe(), 5) == ["dis"] * 5
    assert clip_flow_methods(recipe, 600) == list(methods)


def test_an_object_motion_dataset_is_written_as_class_folders_of_videos(tmp_path):
    from core.app.workspace import Workspace, motions_dataset
    from core.features.folders import DatasetError, find_sequences
    from core.training.curriculum import ensure_object_motion_dataset, write_object_motion_dataset
    from core.video.decode import probe_video

    paths = write_object_motion_dataset(tmp_path / "set", ["left", "grow"], scenes=2, num_frames=6, size=96)
    assert sorted(p.relative_to(tmp_path / "set").as_posix() for p in paths) == [
        "grow/grow_s0.mp4", "grow/grow_s1.mp4", "left/left_s0.mp4", "left/left_s1.mp4"]
    assert probe_video(paths[0]).frame_count == 6
    assert sorted({s.label for s in find_sequences(tmp_path / "set")}) == ["grow", "left"]
    with pytest.raises(DatasetError, match="at least two motions"):
        ensure_object_motion_dataset(tmp_path / "bad", ["left", "fly"])
    workspace = Workspace(tmp_path / "ws")
    objects = motions_dataset(["right", "left"], 2, 17, kind="object_motions")
    assert objects["motions"] == ["left", "right"]
    assert workspace.dataset_dir(objects) != workspace.dataset_dir(motions_dataset(["pan_left", "pan_right"], 2, 17))
    assert workspace.dataset_dir(objects).name.startswith("objects-2x2-f17-")


def test_a_wrong_boundary_pooling_or_contrastive_layout_fails_before_any_clip_is_made(tmp_path):
    from core.errors import ConfigError
    from core.model.endpoints import EndpointError
    from core.training.motion_curriculum import make_motion_curriculum
    from core.training.recipe import CurriculumRecipe

    with pytest.raises(EndpointError, match="unknown endpoint 'Mixed_9z'"):
        make_motion_curriculum(CurriculumRecipe(boundary="Mixed_9z"), tmp_path / "weights.npz")
    with pytest.raises(ConfigError, match="deeper_boundary 'Mixed_5b' must come before boundary 'MaxPool3d_5a_2x2'"):
        make_motion_curriculum(CurriculumRecipe(deeper_boundary="Mixed_5b", deeper_epochs=2), tmp_path / "weights.npz")
    with pytest.raises(ConfigError, match="needs both deeper_boundary and deeper_epochs"):
        make_motion_curriculum(CurriculumRecipe(deeper_epochs=0), tmp_path / "weights.npz")
    with pytest.raises(ConfigError, match=r"unknown layout pooling 'mean'; choose from \['none', 'max'\]"):
        make_motion_curriculum(CurriculumRecipe(layout_pooling="mean"), tmp_path / "weights.npz")
    for no_layout_or_loss in (dict(layout_grid=0), dict(contrastive_weight=0.0)):
        with pytest.raises(ConfigError, match="contrastive_layout .* needs layout_grid > 0 and contrastive_weight > 0"):
            make_motion_curriculum(CurriculumRecipe(contrastive_layout=1.0, **no_layout_or_loss), tmp_path / "w.npz")
    assert not any(tmp_path.iterdir())
