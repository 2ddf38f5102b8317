#!/usr/bin/env bash
# Start the dashboard from an installed .venv (the container's command; scripts/demo.sh sets up first).
# Registers the default model in the registry (DFE_MODEL_DIR) when it is not there yet, e.g. on a new
# volume, then serves on ${DFE_PORT:-8501} at ${DFE_ADDRESS:-0.0.0.0}, taking uploads up to
# ${DFE_MAX_UPLOAD_MB:-500} MB (the upload page states the limit). Extra arguments go to streamlit.
# SIGTERM (docker stop) interrupts running jobs, then stops the server within ${DFE_STOP_GRACE_S:-8} s.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m core weights prepare
exec .venv/bin/python -m core.app.supervisor --grace_s "${DFE_STOP_GRACE_S:-8}" -- \
  .venv/bin/streamlit run dashboard/app.py --server.port "${DFE_PORT:-8501}" \
  --server.address "${DFE_ADDRESS:-0.0.0.0}" --server.maxUploadSize "${DFE_MAX_UPLOAD_MB:-500}" \
  --server.headless true --server.fileWatcherType none "$@"
