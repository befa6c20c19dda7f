"""The real service in a subprocess on a free port, with its own fresh database."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import make_url, text

from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import create_engine, create_sessionmaker


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    admin_key: str
    log: str
    # The server's process, for tests that stop it themselves.
    pid: int = 0

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(
    base_url: str, name: str, tmp_dir: Path, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Serve a freshly migrated database named ``name`` (PostgreSQL) or a file in ``tmp_dir``.

    ``env`` adds settings (``INBOUND_*`` variables) for this server.
    """
    url = _fresh_database(base_url, name, tmp_dir)
    migrate.upgrade(url)
    admin_key = asyncio.run(_issue_admin_key(url))
    port = free_port()
    server_env = {
        **os.environ,
        "INBOUND_DATABASE_URL": url,
        "INBOUND_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    log = (tmp_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "inbound", "serve", "--port", str(port)],
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answered(f"{server_url}/health", process, within=30)
        yield LiveServer(
            url=server_url, database_url=url, admin_key=admin_key, log=log.name, pid=process.pid
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        if not url.startswith("sqlite"):
            asyncio.run(_drop_database(base_url, name))


def _fresh_database(base_url: str, name: str, tmp_dir: Path) -> str:
    base = make_url(base_url)
    if base.drivername.startswith("sqlite"):
        return base.set(database=str(tmp_dir / f"{name}.db")).render_as_string(False)
    asyncio.run(_drop_database(base_url, name))
    asyncio.run(_admin_sql(base_url, f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(False)


async def _drop_database(base_url: str, name: str) -> None:
    await _admin_sql(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin_sql(base_url: str, sql: str) -> None:
    admin = make_url(base_url).set(database="postgres").render_as_string(False)
    engine = create_engine(admin)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


async def _issue_admin_key(url: str) -> str:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session, session.begin():
        _, plain = await ApiKeyService(session).issue(name="admin", scopes=[Scope.ADMIN])
    await engine.dispose()
    return plain


def wait_until_answered(
    url: str, process: subprocess.Popen[bytes], *, within: float, every: float = 0.1
) -> None:
    """Wait until ``url`` answers 200, or fail when ``process`` (which serves it) exits or
    ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server of {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(every)
    raise TimeoutError(f"{url} did not answer in {within} s")


@contextmanager
def site_service(
    base_url: str, name: str, tmp_dir: Path
) -> Iterator[tuple[LiveServer, httpx.Client, str]]:
    """The live service for a site's pages in a browser: the server, an admin client on it and
    a free origin for the pages."""
    # Every test posts from 127.0.0.1: the per-address limit is tested on its own.
    env = {"INBOUND_CAPTURE_RATE_PER_IP": "1000/minute"}
    with (
        live_server(base_url, name, tmp_dir, env) as service,
        httpx.Client(base_url=service.url, headers=service.admin_headers) as admin,
    ):
        yield service, admin, f"http://127.0.0.1:{free_port()}"


LANDING = Path(__file__).resolve().parents[2] / "examples" / "landing"


@contextmanager
def landing_page(
    origin: str, api: str, public_key: str, asset: str, log: Path, *options: str
) -> Iterator[None]:
    """The example landing page, served at ``origin`` against the service at ``api`` with the
    site's ``public_key`` and ``asset``, until the block ends; its output goes to ``log``."""
    with log.open("wb") as out:
        page_server = subprocess.Popen(
            [
                sys.executable,
                str(LANDING / "serve.py"),
                *("--api", api, "--key", public_key, "--asset", asset),
                *options,
                *("--port", origin.rsplit(":", 1)[1]),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_answered(f"{origin}/", page_server, within=10, every=0.05)
            yield
        finally:
            page_server.terminate()
            page_server.wait(timeout=10)
