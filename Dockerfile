# The hub image, in two stages: the first builds fieldlink's wheel and installs it with the
# hub's extras into a virtual environment; the second copies that environment onto the same
# slim Python base, with no compiler, pip cache or source tree, and runs as an unprivileged
# user. Both stages use one exact base tag (a digest pin, `python:...@sha256:...`, works too).
#
# State (SQLite database, sealed batches, hub keys) lives in the /data volume unless
# PostgreSQL and an object store are configured (compose.yaml, docs/deploy.md):
#   docker run -v fieldlink:/data IMAGE fieldlink hub init --token-file /data/admin.token
#   docker run -v fieldlink:/data -p 8000:8000 IMAGE
# The same image runs the Dask scheduler and workers (`dask scheduler`, `dask worker ...`).
# No Docker engine runs the tests: tests/test_dockerfile.py checks this file and runs its
# commands directly.

FROM python:3.11.13-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY linkage ./linkage
COPY keys ./keys
COPY service ./service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/fieldlink \
    && /opt/fieldlink/bin/pip install --no-cache-dir \
        "$(ls /wheels/fieldlink-*.whl)[service,s3,telemetry]"

FROM python:3.11.13-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/fieldlink/bin:$PATH \
    FIELDLINK_DATABASE_URL=sqlite:////data/hub.db FIELDLINK_DATA_DIR=/data/hub-data
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin fieldlink \
    && mkdir /data && chown 10001 /data && chmod 700 /data
COPY --from=build /opt/fieldlink /opt/fieldlink
USER 10001
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/health', timeout=4)"]
CMD ["fieldlink", "hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
