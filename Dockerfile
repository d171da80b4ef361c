# Two images from one file: `runtime` (the default, last stage) is the service alone;
# `devkit` adds the Vitally sandbox, the local broker tool, the benchmark and the demo,
# for docker-compose's sandbox and demo services.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/var/lib/vitally-sync
RUN useradd --system --uid 10001 --home-dir /var/lib/vitally-sync --create-home vitally
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY apiclient apiclient
COPY processors processors
COPY integrations integrations
COPY streams streams
COPY vitally vitally
COPY ops ops
COPY unthread unthread

FROM base AS devkit
COPY devkit devkit
RUN pip install --no-cache-dir . ./devkit
COPY Procfile ./
USER vitally

FROM base AS runtime
RUN pip install --no-cache-dir .
USER vitally
CMD ["vitally-sync", "worker", "-l", "info"]
