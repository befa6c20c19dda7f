"""The service under test, started as a subprocess on a fresh database, and set up through
its own API."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
from database import fresh_schema, prepare_database
from sqlalchemy import make_url

ORIGIN = "https://www.example.com"
UNLIMITED = "1000000000/second"

T = TypeVar("T")
Created = Callable[[str, dict[str, Any]], dict[str, Any]]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is there (a leaner client), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def fresh_database(database_url: str, refusal: str) -> tuple[str, str]:
    """Drop, recreate and migrate the PostgreSQL database; its URL and an admin key."""
    url_obj = make_url(database_url)
    if not url_obj.drivername.startswith("postgresql"):
        raise SystemExit(refusal)
    url = url_obj.render_as_string(hide_password=False)
    run(fresh_schema(url))
    return url, run(prepare_database(url))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    url: str, workers: int, log_path: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """The service on a free port; yields its base URL and process id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    env.update(
        INBOUND_DATABASE_URL=url,
        INBOUND_LOG_LEVEL="WARNING",
        INBOUND_CAPTURE_RATE_PER_IP=UNLIMITED,
        INBOUND_CAPTURE_RATE_PER_KEY=UNLIMITED,
        INBOUND_REMAP_INTERVAL_SECONDS="0",
        # What is timed is the request path: workers deliver the outbox elsewhere.
        INBOUND_WORKER_IN_PROCESS="false",
    )
    env.update(extra_env or {})
    script = Path(sys.executable).with_name("inbound")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "inbound"]
    port = free_port()
    command += ["serve", "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited with {process.returncode}: {log_path}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the service did not become healthy: {log_path}")
                time.sleep(0.1)
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def helper_process(command: list[str], ready: Callable[[str], bool]) -> Iterator[None]:
    """A helper the bench talks to (a receiver, an emulator), started and stopped around the
    block; ``ready`` checks the first line it prints."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not ready(first):
            raise RuntimeError(f"{command[0]} did not start: {first!r}")
        yield
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def admin_api(base: str, admin_key: str) -> Iterator[Created]:
    """POST through the admin API: yields ``created(path, body)``, which insists on 201."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:

        def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
            answer: dict[str, Any] = response.json()
            return answer

        yield created


def capture_as_page(base: str, public_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """One capture, posted as a page of the site would: the site's key and its origin."""
    headers = {"Authorization": f"Bearer {public_key}", "Origin": ORIGIN}
    response = httpx.post(f"{base}/api/v1/captures", json=body, headers=headers, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"capture refused: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer
