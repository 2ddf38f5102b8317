#!/usr/bin/env bash
# Set up .venv (with the test tools) and Debian's chromium, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-test.txt
scripts/install_chromium.sh
exec .venv/bin/python -m pytest "$@"
