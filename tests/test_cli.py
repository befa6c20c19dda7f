"""The `inbound` command, run as an operator runs it: in its own process."""

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import delete, func, select
from sqlmodel import col

from inbound.auth.models import ApiKey
from inbound.db import create_engine
from inbound.models import metadata

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


async def count_keys(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(ApiKey))).scalar_one())
    finally:
        await engine.dispose()


class TestApiKeyCreateCommand:
    async def test_prints_the_key_alone_on_its_last_line_and_the_key_works(
        self,
        committing_client: httpx.AsyncClient,
        database_url: str,
        issued_key_ids: list[uuid.UUID],
        tmp_path: Path,
    ) -> None:
        result = await run_async(
            "api-key",
            "create",
            "--name",
            "ops",
            "--scope",
            "admin",
            "--scope",
            "content:read",
            database_url=database_url,
            cwd=tmp_path,
        )
        found = CREATED_ID.search(result.stderr)
        if found:
            issued_key_ids.append(uuid.UUID(found.group(1)))

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
        self,
        committing_client: httpx.AsyncClient,
        database_url: str,
        issued_key_ids: list[uuid.UUID],
        tmp_path: Path,
    ) -> None:
        result = await run_async(
            "api-key",
            "create",
            "--name",
            "reader",
            "--scope",
            "content:read",
            database_url=database_url,
            cwd=tmp_path,
        )
        found = CREATED_ID.search(result.stderr)
        if found:
            issued_key_ids.append(uuid.UUID(found.group(1)))
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
