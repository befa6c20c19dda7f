# One image for the API (default command) and, later, the worker (`inbound worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip install -c constraints.txt . \
    && useradd --create-home --uid 10001 inbound \
    && mkdir /data && chown inbound /data

USER inbound
# Listen on every interface inside the container; the embedded database lives on a volume.
ENV INBOUND_HOST=0.0.0.0 \
    INBOUND_PORT=8000 \
    INBOUND_DATABASE_URL=sqlite+aiosqlite:////data/inbound.db
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]

# Migrations run on start. With several replicas, run `inbound db upgrade` once as a release
# step instead and start them with `inbound serve`.
CMD ["inbound", "serve", "--migrate"]
