"""train-default's clip pass kept on disk, so a killed or repeated run resumes instead of starting at clip 0.

The clip pass (every training clip rendered, its flow computed, AdaBN, the boundary's activations)
is most of train-default's time, and it depends on fewer of the recipe's fields than training does:
not on the epochs or the loss weights, nor on how many clips there are (each clip's arrays are
the same in a longer pass), and only its last step on the boundary (the earliest one a training
stage starts after, `CurriculumRecipe.pass_boundary`). What it makes is kept
under `<root>/<pass key>/`, the key hashing `pass_fields(recipe)`:

- `recipe.json`: the fields the key hashes, for a person reading the folder;
- `adabn.weights.h5`: the model after AdaBN (float32, as computed);
- `<boundary>/clips-<first>-<stop>.npz`: for training clips [first, stop), `activations`
  `[C, ...] float32` (the boundary's output) and, for a recipe with a layout head, `layouts`
  `[C, D] float32` (its targets).

Every file is written atomically: a killed run leaves whole files or none. Of the code, the key
covers only `core.training.curriculum.RENDERING` (a number each change to how clips are rendered
bumps): after another change that moves the pass's results (e.g. to how flow is computed), delete
the folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from core.common.atomic import atomic_path, write_json_atomic
from core.training import curriculum
from core.training.adaptation import ADABN_CLIPS
from core.training.recipe import CurriculumRecipe

# The recipe's fields the clip pass does not depend on: training's, and `clips` (clip i is the same in
# a pass of any length, the sampler drawing clip after clip, so a longer pass loads a shorter one's
# chunks and makes only the clips after them).
UNKEYED_FIELDS = ("clips", "boundary", "epochs", "object_weight", "object_targets", "layout_weight", "layout_pooling",
                  "parameter_weight", "parameter_periods", "deeper_boundary", "deeper_epochs", "fresh_upper",
                  "contrastive_weight", "contrastive_projection", "neighbour_weight", "contrastive_layout")


def pass_fields(recipe: CurriculumRecipe) -> dict:
    """The recipe's fields the clip pass depends on (all but UNKEYED_FIELDS), as JSON values, the
    version of the clips' rendering (`rendering`) and how many clips AdaBN sees (`adabn_clips`)."""
    return {**{key: value for key, value in json.loads(json.dumps(asdict(recipe))).items()
               if key not in UNKEYED_FIELDS}, "rendering": curriculum.RENDERING,
            "adabn_clips": min(recipe.clips, ADABN_CLIPS)}


class ClipPassCache:
    """The clip pass of one recipe under `root` (see module docstring)."""

    def __init__(self, root: str | Path, recipe: CurriculumRecipe):
        fields = pass_fields(recipe)
        key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = Path(root) / key
        self.boundary = recipe.pass_boundary
        self._fields = fields

    @property
    def adabn_path(self) -> Path:
        return self.folder / "adabn.weights.h5"

    def chunk_path(self, start: int, stop: int) -> Path:
        return self.folder / self.boundary / f"clips-{start:05d}-{stop:05d}.npz"

    def load_adabn(self, model: keras.Model) -> bool:
        """Set `model`'s weights to the cached AdaBN'd ones; False (model untouched) if there are none."""
        if not self.adabn_path.exists():
            return False
        model.load_weights(self.adabn_path)
        return True

    def save_adabn(self, model: keras.Model) -> None:
        write_json_atomic(self.folder / "recipe.json", self._fields)
        with atomic_path(self.adabn_path) as tmp:
            model.save_weights(tmp)

    def load_chunk(self, start: int, stop: int) -> dict[str, np.ndarray] | None:
        """Clips [start, stop)'s arrays, or None if not cached."""
        path = self.chunk_path(start, stop)
        if not path.exists():
            return None
        with np.load(path) as arrays:
            return {name: arrays[name] for name in arrays.files}

    def save_chunk(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        with atomic_path(self.chunk_path(start, stop)) as tmp:
            np.savez(tmp, **arrays)
