# One image for the API (default command) and the worker (`inbound worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The pinned dependencies first, in a layer of their own: a change to the code reuses it.
COPY pyproject.toml constraints.txt ./
# With the `redis` extra: an image is what runs as several processes, which share Redis.
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(*p['dependencies'], *p['optional-dependencies']['redis'], sep='\n')" > dependencies.txt \
    && pip install -c constraints.txt -r dependencies.txt \
    && rm dependencies.txt
COPY README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-deps . \
    && groupadd --gid 10001 inbound \
    && useradd --create-home --uid 10001 --gid 10001 inbound \
    && mkdir /data && chown 10001:10001 /data

# Numeric, so that Kubernetes (runAsNonRoot) can tell it is not root without reading /etc/passwd.
USER 10001:10001
# Listen on every interface inside the container; the embedded database lives on a volume.
ENV INBOUND_HOST=0.0.0.0 \
    INBOUND_PORT=8000 \
    INBOUND_DATABASE_URL=sqlite+aiosqlite:////data/inbound.db
# Behind a reverse proxy or load balancer, name it, so that each visitor's own address counts
# (rate limits, captures, logs) and not the proxy's; e.g. a cluster's pod network:
# ENV INBOUND_TRUSTED_PROXIES=10.0.0.0/8
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('INBOUND_PORT', '8000'), timeout=2)"]

# Migrations run on start. With several replicas, run `inbound db upgrade` once as a release
# step instead and start them with `inbound serve`.
CMD ["inbound", "serve", "--migrate"]
