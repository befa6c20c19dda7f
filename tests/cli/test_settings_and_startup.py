"""The `inbound` command on bad settings, and the checks it makes at startup."""

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from inbound.config import Settings
from tests.cli.helpers import INBOUND, Result, cli_env, one_line_error, run, unused_sqlite_url
from tests.support.live_server import free_port


def assert_failed_saying(result: Result, returncode: int, *words: str) -> None:
    """The command failed with ``returncode`` and one line of error holding each of ``words``."""
    line = one_line_error(result)
    assert result.returncode == returncode
    for word in words:
        assert word in line


NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:1/inbound"


class TestBadSettings:
    @pytest.mark.parametrize(
        ("variable", "value", "says"),
        [
            ("INBOUND_DATABASE_URL", "foo", "postgresql+asyncpg://"),
            ("INBOUND_DATABASE_URL", "mysql://root:hunter2@db/x", "not supported"),
            ("INBOUND_PORT", "abc", "integer"),
            ("INBOUND_PORT", "99999", "65535"),
            ("INBOUND_DATABASE_POOL_SIZE", "0", "greater than or equal to 1"),
            ("INBOUND_LOG_JSON", "maybe", "boolean"),
            ("INBOUND_LOG_LEVEL", "loud", "DEBUG"),
            ("INBOUND_CAPTURE_RATE_PER_IP", "lots", "INBOUND_CAPTURE_RATE_PER_IP"),
            ("INBOUND_TRUSTED_PROXIES", "nonsense", "CIDR"),
            ("INBOUND_REDIS_URL", "nope", "redis://HOST:PORT/DB"),
            ("INBOUND_REDIS_URL", "valkey://:hunter2@cache", "redis://HOST:PORT/DB"),
            ("INBOUND_HUBSPOT_URL", "notaurl", "https://HOST"),
            ("INBOUND_PUBLIC_URL", "feedback.example.com", "https://HOST"),
            ("INBOUND_PUBLIC_URL", "https://feedback.example.com/?x=1", "without query"),
        ],
    )
    def test_a_bad_value_is_named_on_one_line_and_exits_2(
        self, tmp_path: Path, variable: str, value: str, says: str
    ) -> None:
        self.check(tmp_path, variable, value, says, ["serve"])

    @pytest.mark.parametrize("command", [["worker"], ["db", "upgrade"], ["leads", "remap"]])
    def test_every_command_refuses_bad_settings_alike(
        self, tmp_path: Path, command: list[str]
    ) -> None:
        self.check(tmp_path, "INBOUND_DATABASE_URL", "foo", "sqlite+aiosqlite:///", command)

    def check(
        self, tmp_path: Path, variable: str, value: str, says: str, command: list[str]
    ) -> None:
        url, db_file = unused_sqlite_url(tmp_path)
        env = {**cli_env(url), variable: value}

        done = subprocess.run(
            [*INBOUND, *command], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip

        result = Result(done.returncode, done.stdout, done.stderr)
        assert_failed_saying(result, 2, variable, says)
        assert "hunter2" not in result.stderr
        assert not db_file.exists()

    @pytest.mark.parametrize("args", [["--port", "99999"], ["--port", "0"], ["--workers", "0"]])
    def test_a_bad_option_is_refused_with_2(self, tmp_path: Path, args: list[str]) -> None:
        url, _ = unused_sqlite_url(tmp_path)
        result = run("serve", *args, database_url=url, cwd=tmp_path)
        assert result.returncode == 2
        assert args[0] in result.stderr
        assert "Traceback" not in result.stderr

    @pytest.mark.parametrize(
        "given", ["postgres://postgres@127.0.0.1:5432/x", "postgresql://postgres@127.0.0.1/x"]
    )
    def test_postgres_urls_without_a_driver_run_on_asyncpg(self, given: str) -> None:
        assert Settings(database_url=given).database_url.startswith("postgresql+asyncpg://")

    def test_a_plain_sqlite_url_runs_on_aiosqlite(self, tmp_path: Path) -> None:
        path = tmp_path / "plain.db"
        result = run("db", "upgrade", database_url=f"sqlite:///{path}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall()


class TestStartupChecks:
    @pytest.mark.parametrize("command", [["serve"], ["worker"], ["leads", "remap"]])
    def test_an_unmigrated_database_stops_the_start_naming_the_upgrade(
        self, empty_database: str, tmp_path: Path, command: list[str]
    ) -> None:
        result = run(*command, database_url=empty_database, cwd=tmp_path)
        assert result.returncode == 1
        assert "inbound db upgrade" in one_line_error(result)

    @pytest.mark.parametrize("command", [["serve"], ["worker"], ["db", "upgrade"]])
    def test_an_unreachable_database_stops_the_start_on_one_line(
        self, tmp_path: Path, command: list[str]
    ) -> None:
        result = run(*command, database_url=NOWHERE, cwd=tmp_path)
        assert_failed_saying(result, 1, "cannot reach the database", "127.0.0.1:1")

    def test_an_out_of_date_database_stops_the_start(
        self, empty_database: str, tmp_path: Path
    ) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        assert (
            run("db", "downgrade", "-1", database_url=empty_database, cwd=tmp_path).returncode == 0
        )
        result = run("serve", database_url=empty_database, cwd=tmp_path)
        assert_failed_saying(result, 1, "out of date", "inbound db upgrade")

    def test_serve_with_migrate_upgrades_then_serves_ready(
        self, empty_database: str, tmp_path: Path
    ) -> None:
        port = free_port()
        process = subprocess.Popen(
            [*INBOUND, "serve", "--migrate", "--port", str(port)],
            env=cli_env(empty_database), cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            ready = wait_for(f"http://127.0.0.1:{port}/ready", process)
        finally:
            process.terminate()
            process.wait(timeout=10)
        assert ready == 200

    @pytest.mark.parametrize(
        ("trusted", "client"), [(None, "127.0.0.1"), ("127.0.0.1", "198.51.100.7")]
    )
    def test_serve_believes_forwarded_headers_only_from_trusted_proxies(
        self, empty_database: str, tmp_path: Path, trusted: str | None, client: str
    ) -> None:
        # uvicorn by itself believes X-Forwarded-For from loopback: a visitor reaching the
        # service there (or through a proxy on the same machine) would choose its own address.
        port = free_port()
        env = cli_env(empty_database) | {"INBOUND_LOG_LEVEL": "INFO", "INBOUND_LOG_JSON": "true"}
        if trusted is not None:
            env["INBOUND_TRUSTED_PROXIES"] = trusted
        process = subprocess.Popen(
            [*INBOUND, "serve", "--migrate", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert wait_for(f"http://127.0.0.1:{port}/ready", process) == 200
            answer = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/personas",
                headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"},
            )
            assert answer.status_code == 401
        finally:
            process.terminate()
            stdout, _ = process.communicate(timeout=10)
        [logged] = [
            line
            for line in map(json.loads, filter(None, stdout.decode().splitlines()))
            if line.get("path") == "/api/v1/personas"
        ]
        assert logged["client"] == client


def wait_for(url: str, process: "subprocess.Popen[bytes]") -> int:
    """The first status ``url`` answers while ``process`` runs."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return httpx.get(url, timeout=1).status_code
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(url)
