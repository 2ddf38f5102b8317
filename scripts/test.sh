#!/usr/bin/env bash
# Set up .venv (with the test tools) and the Debian packages the tests use (chromium, opencv-doc), and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-test.txt
scripts/install_debian_packages.sh
# Two processes (pytest-xdist): most slow tests wait on a server, a browser or a subprocess, so the
# second fills that time on 2 cores. `scripts/test.sh -n 0` runs one; later arguments win.
exec .venv/bin/python -m pytest -n 2 --dist worksteal "$@"
