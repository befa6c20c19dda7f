"""The `inbound` command, run as an operator runs it: in its own process."""

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import delete, func, select
from sqlmodel import col

from inbound import migrate
from inbound.auth.models import ApiKey
from inbound.config import Settings
from inbound.db import create_engine
from inbound.models import metadata
from tests.conftest import _base_url, is_sqlite
from tests.support.live_server import _drop_database, _fresh_database, free_port

INBOUND = [sys.executable, "-m", "inbound"]
KEY_SHAPE = re.compile(r"^inb_sk_[A-Za-z0-9_-]{43}$")
CREATED_ID = re.compile(r"created API key ([0-9a-f-]{36})")


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "INBOUND_DATABASE_URL": database_url, "INBOUND_LOG_LEVEL": "WARNING"}


def run(*args: str, database_url: str, cwd: Path) -> Result:
    done = subprocess.run(
        [*INBOUND, *args],
        env=cli_env(database_url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


async def run_async(*args: str, database_url: str, cwd: Path) -> Result:
    """Run the command without blocking the event loop the app under test shares."""
    process = await asyncio.create_subprocess_exec(
        *INBOUND,
        *args,
        env=cli_env(database_url),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


def unused_sqlite_url(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "never.db"
    return f"sqlite+aiosqlite:///{path}", path


@pytest.fixture
async def issued_key_ids(database_url: str) -> AsyncIterator[list[uuid.UUID]]:
    """Ids of keys the command committed for real; deleted afterwards through a fresh engine."""
    ids: list[uuid.UUID] = []
    yield ids
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(ApiKey).where(col(ApiKey.id).in_(ids)))
    finally:
        await engine.dispose()


KeyCreator = Callable[..., Awaitable[tuple[Result, re.Match[str] | None]]]


@pytest.fixture
def create_key(database_url: str, issued_key_ids: list[uuid.UUID], tmp_path: Path) -> KeyCreator:
    """Run `inbound api-key create` with these arguments; its result, and the line naming the
    key it created (whose id is kept to delete the key afterwards)."""

    async def create(*args: str) -> tuple[Result, re.Match[str] | None]:
        result = await run_async(
            "api-key", "create", *args, database_url=database_url, cwd=tmp_path
        )
        found = CREATED_ID.search(result.stderr)
        if found:
            issued_key_ids.append(uuid.UUID(found.group(1)))
        return result, found

    return create


async def count_keys(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(ApiKey))).scalar_one())
    finally:
        await engine.dispose()


class TestApiKeyCreateCommand:
    async def test_prints_the_key_alone_on_its_last_line_and_the_key_works(
        self, committing_client: httpx.AsyncClient, create_key: KeyCreator
    ) -> None:
        result, found = await create_key(
            "--name", "ops", "--scope", "admin", "--scope", "content:read"
        )

        assert result.returncode == 0, result.stderr
        assert found, result.stderr
        key = result.stdout.splitlines()[-1]
        assert KEY_SHAPE.match(key), result.stdout
        assert result.stdout == f"{key}\n"
        assert key not in result.stderr

        headers = {"Authorization": f"Bearer {key}"}
        listed = await committing_client.get("/api/v1/api-keys", headers=headers)
        personas = await committing_client.get("/api/v1/personas", headers=headers)
        assert listed.status_code == 200, listed.text
        assert personas.status_code == 200
        [mine] = [k for k in listed.json()["items"] if k["id"] == found.group(1)]
        assert mine["name"] == "ops"
        assert mine["scopes"] == ["admin", "content:read"]
        assert mine["site_id"] is None
        assert key.startswith(mine["prefix"])

    async def test_a_key_for_content_reading_only_is_refused_elsewhere(
        self, committing_client: httpx.AsyncClient, create_key: KeyCreator
    ) -> None:
        result, _ = await create_key("--name", "reader", "--scope", "content:read")
        assert result.returncode == 0, result.stderr
        headers = {"Authorization": f"Bearer {result.stdout.splitlines()[-1]}"}

        assert (await committing_client.get("/api/v1/personas", headers=headers)).status_code == 200
        assert (await committing_client.get("/api/v1/api-keys", headers=headers)).status_code == 403

    @pytest.mark.parametrize(
        "args",
        [
            ["--name", "ops", "--scope", "content:delete"],
            ["--name", "ops", "--scope", "admin", "--scope", "nope"],
            ["--name", "ops", "--scope", "ingest"],
            ["--name", "ops"],
            ["--scope", "admin"],
            ["--name", "n" * 101, "--scope", "admin"],
        ],
        ids=[
            "unknown-scope",
            "one-unknown-among-good",
            "ingest",
            "no-scope",
            "no-name",
            "name-too-long",
        ],
    )
    async def test_bad_arguments_exit_non_zero_and_issue_nothing(
        self, database_url: str, tmp_path: Path, args: list[str]
    ) -> None:
        before = await count_keys(database_url)

        result = await run_async(
            "api-key", "create", *args, database_url=database_url, cwd=tmp_path
        )

        assert result.returncode != 0
        assert "inb_sk_" not in result.stdout
        assert result.stderr.strip()
        assert await count_keys(database_url) == before

    def test_an_unmigrated_database_gets_advice_not_a_traceback(self, tmp_path: Path) -> None:
        url, _ = unused_sqlite_url(tmp_path)
        args = ["api-key", "create", "--name", "ops", "--scope", "admin"]
        result = run(*args, database_url=url, cwd=tmp_path)
        assert result.returncode == 1
        assert "inbound db upgrade" in result.stderr
        assert "Traceback" not in result.stderr


class TestOpenApiCommand:
    def test_prints_the_contract_as_json(self, tmp_path: Path) -> None:
        url, db_file = unused_sqlite_url(tmp_path)

        result = run("openapi", database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["openapi"].startswith("3.")
        assert "/api/v1/personas" in document["paths"]
        assert "/api/v1/api-keys" in document["paths"]
        assert not db_file.exists()

    def test_writes_yaml_when_the_output_says_so(self, tmp_path: Path) -> None:
        url, _ = unused_sqlite_url(tmp_path)
        output = tmp_path / "contract.yaml"

        result = run("openapi", "--output", str(output), database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        text = output.read_text(encoding="utf-8")
        assert not text.lstrip().startswith("{")
        document = yaml.safe_load(text)
        assert "/api/v1/personas" in document["paths"]
        as_json = json.loads(run("openapi", database_url=url, cwd=tmp_path).stdout)
        assert document == as_json

    def test_writes_json_to_a_json_file(self, tmp_path: Path) -> None:
        url, _ = unused_sqlite_url(tmp_path)
        output = tmp_path / "contract.json"

        result = run("openapi", "--output", str(output), database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert "/api/v1/personas" in json.loads(output.read_text(encoding="utf-8"))["paths"]


class TestDbUpgradeCommand:
    def test_migrates_a_fresh_sqlite_file(self, tmp_path: Path) -> None:
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"

        result = run("db", "upgrade", database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        with sqlite3.connect(path) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            [version] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert {"api_keys", "sites", "personas", "alembic_version"} <= tables
        assert {table.name for table in metadata.sorted_tables} <= tables
        assert version[0]

    def test_a_second_upgrade_changes_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"
        assert run("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0

        result = run("db", "upgrade", database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        with sqlite3.connect(path) as conn:
            assert len(conn.execute("SELECT version_num FROM alembic_version").fetchall()) == 1

    def test_issued_keys_work_against_the_migrated_file(self, tmp_path: Path) -> None:
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"
        assert run("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0

        result = run(
            "api-key", "create", "--name", "ops", "--scope", "admin", database_url=url, cwd=tmp_path
        )

        assert result.returncode == 0, result.stderr
        key = result.stdout.splitlines()[-1]
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT name, prefix, scopes FROM api_keys").fetchall()
        assert len(rows) == 1
        assert rows[0][0] == "ops"
        assert key.startswith(rows[0][1])
        assert json.loads(rows[0][2]) == ["admin"]


@pytest.fixture
def empty_database(worker_id: str, tmp_path: Path) -> Iterator[str]:
    """A database of the kind under test with no schema in it."""
    base = _base_url()
    name = f"inbound_empty_{worker_id}"
    url = _fresh_database(base, name, tmp_path)
    yield url
    if not is_sqlite(url):
        asyncio.run(_drop_database(base, name))


def one_line_error(result: Result) -> str:
    """The command's error, checked to be one line without a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


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


class TestDbDowngradeCommand:
    def test_steps_back_one_at_a_time_and_up_again(
        self, empty_database: str, tmp_path: Path
    ) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        head = migrate.head_revision()
        seen = [head]
        while True:
            result = run("db", "downgrade", "-1", database_url=empty_database, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            seen.append(result.stdout.split()[-1])
            if seen[-1] == "base":
                break
        assert len(seen) == len(migrate.known_revisions()) + 1
        assert len(set(seen)) == len(seen)

        again = run("db", "upgrade", database_url=empty_database, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert head in again.stdout

    def test_two_steps_then_base(self, empty_database: str, tmp_path: Path) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        two = run("db", "downgrade", "-2", database_url=empty_database, cwd=tmp_path)
        assert two.returncode == 0, two.stderr
        assert asyncio.run(migrate.current_revision(empty_database)) not in {
            None,
            migrate.head_revision(),
        }
        base = run("db", "downgrade", "base", database_url=empty_database, cwd=tmp_path)
        assert base.returncode == 0, base.stderr
        assert base.stdout.strip() == "database at base"
        assert asyncio.run(migrate.current_revision(empty_database)) is None

    def test_nothing_to_downgrade_is_one_line(self, empty_database: str, tmp_path: Path) -> None:
        result = run("db", "downgrade", "-1", database_url=empty_database, cwd=tmp_path)
        assert result.returncode == 1
        assert "no schema" in one_line_error(result)

    def test_an_unknown_revision_is_one_line(self, empty_database: str, tmp_path: Path) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        result = run("db", "downgrade", "nosuchrev", database_url=empty_database, cwd=tmp_path)
        assert result.returncode == 1
        assert "nosuchrev" in one_line_error(result)
