#!/usr/bin/env bash
# Set up .venv and start the dashboard; on an empty workspace it creates the demo video first.
set -euo pipefail
cd "$(dirname "$0")/.."
DFE_SKIP_WEIGHTS=1 scripts/setup.sh requirements.txt  # serve.sh prepares the weights
DFE_ADDRESS="${DFE_ADDRESS:-localhost}" exec scripts/serve.sh "$@"
