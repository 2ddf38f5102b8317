# CPU image of the dashboard. The recipe is scripts/setup.sh, the same one the README and CI run.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 dfe
WORKDIR /app
COPY --chown=dfe:dfe . /app
USER dfe
RUN PYTHON=python3 scripts/setup.sh requirements.txt

ENV DFE_WORKSPACE=/data/workspace \
    DFE_MODEL_DIR=/data/models
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD curl -fs http://localhost:8501/_stcore/health || exit 1
CMD [".venv/bin/streamlit", "run", "dashboard/app.py", "--server.address=0.0.0.0", "--server.port=8501"]
