"""What does training more of the flow I3D cost? Seconds per epoch of `train_motion_heads` for each
boundary (the blocks after it are trained, the default recipe's heads on top), on cached activations
of the boundary's shape, and the ratio to the default boundary (Mixed_5b and Mixed_5c trained)
measured in the same run. The first epoch (tracing) is not counted; the figure is scaled to the
default recipe's clips (`CurriculumRecipe.clips`; the table names the count).

    .venv/bin/python -m benchmarks.upper_training_speed [--clips 64] [--boundaries MaxPool3d_5a_2x2 Mixed_4e]
"""

from __future__ import annotations

import time

import keras
import numpy as np

from benchmarks.common import argument_parser, print_table, write_json
from core.common.process import configure_process
from core.model.i3d import endpoint_model
from core.training.adaptation import MotionLosses, train_motion_heads
from core.training.curriculum import OBJECT_MOTIONS
from core.training.motion_dataset import MOTIONS
from core.training.recipe import CurriculumRecipe
from core.weights.flow_stream import build_flow_i3d

BOUNDARIES = ("MaxPool3d_5a_2x2", "Mixed_4e", "Mixed_4d", "MaxPool3d_4a_3x3")


class EpochTimes(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def main() -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--clips", type=int, default=64, help="cached activations per boundary")
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed after the first")
    parser.add_argument("--boundaries", nargs="+", default=list(BOUNDARIES))
    args = parser.parse_args()
    recipe = CurriculumRecipe()
    model = build_flow_i3d("random")
    rng = np.random.default_rng(0)
    one_clip = np.zeros((1, 16, 224, 224, 2), np.float32)
    camera = np.arange(args.clips) % len(MOTIONS)
    objects = (rng.random((args.clips, len(OBJECT_MOTIONS))) < 0.3).astype(np.float32)
    rows, results = [], {}
    for boundary in args.boundaries:
        shape = tuple(endpoint_model(model, boundary)(one_clip).shape[1:])
        activations = np.abs(rng.normal(size=(args.clips, *shape))).astype(np.float32)
        times = EpochTimes()
        train_motion_heads(model, activations, camera, objects, boundary=boundary, epochs=args.epochs + 1,
                           seed=recipe.seed, losses=MotionLosses(object_weight=recipe.object_weight),
                           callbacks=[times])
        per_epoch = float(np.mean(times.seconds[1:])) * recipe.clips / args.clips
        results[boundary] = {"activation_shape": shape, "seconds_per_epoch_recipe_clips": per_epoch}
        reference = results[args.boundaries[0]]["seconds_per_epoch_recipe_clips"]
        rows.append([boundary, "x".join(map(str, shape)), f"{per_epoch:.0f}",
                     f"{per_epoch * recipe.epochs / 60:.0f}", f"{per_epoch / reference:.1f}"])
    print_table(["boundary (trained: the blocks after it)", "activations", f"s / epoch ({recipe.clips} clips)",
                 f"min / {recipe.epochs} epochs", f"x {args.boundaries[0]}"], rows)
    write_json(args.json, {"clips": args.clips, "recipe_clips": recipe.clips, "results": results})


if __name__ == "__main__":
    main()
