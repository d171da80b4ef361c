FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY processors processors
COPY streams streams
COPY vitally vitally
COPY vitally_sandbox vitally_sandbox
COPY kafka_local kafka_local
COPY demo demo
COPY bench bench
COPY Procfile ./
RUN pip install --no-cache-dir .
USER nobody
CMD ["vitally-sync", "worker", "-l", "info"]
