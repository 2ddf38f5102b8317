# The dashboard as an image. The recipe is scripts/setup.sh (the same script the README's commands and
# CI run) and scripts/serve.sh (the command). CPU by default; the GPU variant:
#   docker build --build-arg REQUIREMENTS=requirements-gpu.txt -t dynamic-features:gpu .
#   docker run --gpus all -p 8501:8501 dynamic-features:gpu
FROM python:3.11-slim

ARG REQUIREMENTS=requirements.txt
ARG UID=10001

# OpenCV (headless) needs GLib; imageio-ffmpeg brings its own ffmpeg; curl runs the health check.
# Versions come with the base image's Debian release (exact pins break on every point release).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid "${UID}" dfe \
 && useradd --create-home --uid "${UID}" --gid "${UID}" dfe \
 && mkdir -p /app /data/workspace /data/models \
 && chown -R dfe:dfe /app /data
WORKDIR /app
USER ${UID}:${UID}

ENV DFE_WORKSPACE=/data/workspace \
    DFE_MODEL_DIR=/data/models \
    PYTHON=python3 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2

# Packages first (their own layer, rebuilt only when the requirements change) ... Behind a network
# that inspects TLS, give pip the network's full CA bundle as a build secret (it is not kept in the image):
#   docker build --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt .
COPY --chown=dfe:dfe requirements*.txt ./
COPY --chown=dfe:dfe scripts/setup.sh scripts/
# TensorFlow's C++ headers (430 MB) only serve building custom ops: not kept.
RUN --mount=type=secret,id=ca_bundle,uid=${UID} \
    DFE_CA_BUNDLE=/run/secrets/ca_bundle DFE_SKIP_WEIGHTS=1 scripts/setup.sh "${REQUIREMENTS}" \
 && rm -rf .venv/lib/python3*/site-packages/tensorflow/include

# ... then the code, and the pretrained weights converted at build time (default model registered
# in /data/models, which a new named volume starts from).
COPY --chown=dfe:dfe . .
RUN scripts/setup.sh "${REQUIREMENTS}"

VOLUME ["/data/workspace", "/data/models"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["sh", "-c", "curl -fsS http://localhost:8501${STREAMLIT_SERVER_BASE_URL_PATH:+/$STREAMLIT_SERVER_BASE_URL_PATH}/_stcore/health"]
CMD ["scripts/serve.sh"]
