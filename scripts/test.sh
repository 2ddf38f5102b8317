#!/usr/bin/env bash
# Set up .venv (with the test tools) and the Debian packages the tests use (chromium, opencv-doc), and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-test.txt
scripts/install_debian_packages.sh
# One process: the Ray engine's killed-worker test can hang on a loaded machine (README, Tests).
exec .venv/bin/python -m pytest "$@"
