# syntax=docker/dockerfile:1
# ActionStream CPU image: every Procfile process (`actionstream ...`), plus a small `rtsp` target with the RTSP
# test relay. Build from the repository root:
#   docker build -t actionstream:cpu .
#   docker build --target rtsp -t actionstream-rtsp .
# The CUDA variant (TensorRT, the `gpu` extra) is Dockerfile.gpu.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG GO_IMAGE=golang:1.24-bookworm

# -- the RTSP relay (Go), a stand-in camera server for tests and the demo ------------------------------------
FROM ${GO_IMAGE} AS relay-build
WORKDIR /src
COPY infra/rtsp/relay/ ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/rtsp-relay .

# -- Python environment ----------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
# PyPI's torch is a CUDA build (~4 GB); the CPU image takes torch and torchvision from PyTorch's CPU index.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY actionstream/ actionstream/
COPY streams/ streams/
COPY processors/ processors/
COPY models/ models/
COPY feature_store/ feature_store/
COPY training/ training/
COPY infra/ infra/
COPY bench/ bench/
RUN pip install --extra-index-url "${TORCH_INDEX}" .

# -- runtime: the processes ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# ffmpeg publishes the looping test feeds (PyAV brings its own FFmpeg libraries for decoding).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 actionstream
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    HF_HUB_OFFLINE=1 \
    ACTIONSTREAM_METRICS_PORT=9464
# Every process keeps its state (MLflow registry, archive, reports, feature store) under var/: one volume.
WORKDIR /app
COPY Procfile ./
RUN mkdir -p /app/var && chown actionstream:actionstream /app/var
VOLUME ["/app/var"]
USER 10001
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/readyz', timeout=4)"]
ENTRYPOINT ["actionstream"]
CMD ["--help"]

# -- the RTSP test relay alone ---------------------------------------------------------------------------------
FROM debian:bookworm-slim AS rtsp
COPY --from=relay-build /out/rtsp-relay /usr/local/bin/rtsp-relay
RUN useradd --uid 10001 relay
USER 10001
EXPOSE 8554
HEALTHCHECK --interval=10s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8554"]
ENTRYPOINT ["rtsp-relay", "-address", "0.0.0.0:8554"]
