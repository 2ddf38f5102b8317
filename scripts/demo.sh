#!/usr/bin/env bash
# Set up .venv and start the dashboard; on an empty workspace it creates the demo video first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements.txt
exec .venv/bin/streamlit run dashboard/app.py "$@"
