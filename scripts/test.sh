#!/usr/bin/env bash
# Set up .venv (with the test tools) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-test.txt
exec .venv/bin/python -m pytest "$@"
