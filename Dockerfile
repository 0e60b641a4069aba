# The hub image. Migrations run as a one-off: docker run IMAGE alembic upgrade head
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY linkage ./linkage
COPY keys ./keys
COPY service ./service
RUN pip install --no-cache-dir ".[service]"
USER nobody
EXPOSE 8000
CMD ["uvicorn", "--factory", "service.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
