"""Does training more of the network pay, given the default? From the shipped default, train the
blocks after `--boundary` for `--epochs` more epochs (fresh heads, the default recipe's losses) on the
default recipe's clips, and write the weights, to be scored beside the default by
`benchmarks.motion_families --weights motion_curriculum --packed deeper=PATH --packed control=PATH`.

The clips' Mixed_4e activations come from train-default's clip pass on disk (`ClipPassCache`; the
default recipe's pass keeps Mixed_4e's): run `python -m core weights train-default --cache_dir DIR
--output /tmp/unused.npz` until its clips are done (about 50 min on 2 cores; stop it once it trains).
A later boundary's activations are made from them by the default's frozen blocks in between, so a
control that trains only Mixed_5b/5c sees the same clips.

    .venv/bin/python -m benchmarks.continue_deeper --cache_dir DIR --boundary Mixed_4e --epochs 4 --output x.npz
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from benchmarks.common import argument_parser
from core.common.process import configure_process
from core.training.adaptation import activations_between
from core.training.clip_pass_cache import ClipPassCache
from core.training.motion_curriculum import chunk_spans, regression_targets, train_stage, training_clips
from core.training.recipe import CurriculumRecipe
from core.weights.flow_stream import build_flow_i3d
from core.weights.packed import save_packed_weights

CACHED_BOUNDARY = "Mixed_4e"


class EpochLog(keras.callbacks.Callback):
    """Prints each epoch's seconds and training metrics."""

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        metrics = ", ".join(f"{key} {value:.3f}" for key, value in sorted((logs or {}).items()))
        print(f"epoch {epoch + 1}: {time.perf_counter() - self._start:.0f} s; {metrics}", flush=True)


def cached_activations(cache_dir: Path, recipe: CurriculumRecipe) -> np.ndarray:
    """The recipe's clips' CACHED_BOUNDARY activations `[N, 4, 14, 14, 528] float32`, every chunk present."""
    cache = ClipPassCache(cache_dir, recipe)
    chunks = [cache.load_chunk(start, stop) for start, stop in chunk_spans(recipe.clips)]
    missing = sum(chunk is None for chunk in chunks)
    if missing:
        raise SystemExit(f"{missing} of {len(chunks)} chunks of clips are not in {cache.folder}: run train-default "
                         f"--boundary {CACHED_BOUNDARY} --cache_dir {cache_dir} until its clips are done")
    return np.concatenate([chunk["activations"] for chunk in chunks])


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--cache_dir", type=Path, required=True, help="train-default's --cache_dir")
    parser.add_argument("--boundary", default=CACHED_BOUNDARY, help="train the blocks after this endpoint "
                        f"(at or after {CACHED_BOUNDARY})")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--output", type=Path, required=True, help="the weights (packed .npz)")
    args = parser.parse_args()
    configure_process()
    recipe = CurriculumRecipe(boundary=CACHED_BOUNDARY)
    model = build_flow_i3d("motion_curriculum")
    activations = activations_between(model, cached_activations(args.cache_dir, recipe), CACHED_BOUNDARY,
                                      args.boundary)
    clips = training_clips(recipe)
    train_stage(model, activations, clips, recipe, args.boundary, args.epochs, regression_targets(clips, recipe),
                callbacks=[EpochLog()])
    save_packed_weights(model, args.output, {"made_by": "benchmarks.continue_deeper", "start": "motion_curriculum",
                                             "boundary": args.boundary, "epochs": args.epochs})
    print(f"weights written to {args.output}")


if __name__ == "__main__":
    main()
