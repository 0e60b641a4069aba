# The hub image. State (database, sealed batches, hub keys) lives in the /data volume:
#   docker run -v fieldlink:/data IMAGE fieldlink hub init --token-file /data/admin.token
#   docker run -v fieldlink:/data -p 8000:8000 IMAGE
# For PostgreSQL set FIELDLINK_DATABASE_URL; /data still holds the batches and keys.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FIELDLINK_DATABASE_URL=sqlite:////data/hub.db FIELDLINK_DATA_DIR=/data/hub-data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY linkage ./linkage
COPY keys ./keys
COPY service ./service
RUN pip install --no-cache-dir ".[service]" \
    && useradd --system --home-dir /data fieldlink && mkdir /data && chown fieldlink /data
USER fieldlink
VOLUME /data
EXPOSE 8000
CMD ["fieldlink", "hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
