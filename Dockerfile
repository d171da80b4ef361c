# Two images from one file: `runtime` (the default, last stage) is the service alone, with the
# locked dependencies (requirements.lock, `make lock`) on Python 3.11, the minor CI uses;
# `devkit` adds the Vitally sandbox, the local broker tool, the benchmark and the demo, for
# docker-compose's sandbox and demo services. Both run as the unprivileged user `vitally`
# (uid and gid 10001, given by number so that Kubernetes' runAsNonRoot can check it), whose
# DATA_DIR (/var/lib/vitally-sync) is writable: mount a volume there for STORE=rocksdb://.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/var/lib/vitally-sync
RUN groupadd --system --gid 10001 vitally \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/vitally-sync --create-home vitally
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY apiclient apiclient
COPY vitally vitally
COPY processors processors
COPY integrations integrations
COPY streams streams
COPY ops ops
COPY unthread unthread
# The dependencies are all in place already: only the service itself is installed here.
RUN pip install --no-cache-dir --no-deps .

FROM base AS devkit
COPY devkit devkit
RUN pip install --no-cache-dir ./devkit
COPY Procfile ./
USER 10001:10001

FROM base AS runtime
USER 10001:10001
EXPOSE 6066
CMD ["vitally-sync", "worker", "-l", "info"]
