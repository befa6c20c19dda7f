"""`inbound api-key create`, run as an operator runs it: in its own process."""

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlmodel import col

from inbound.auth.models import ApiKey
from inbound.db import create_engine
from tests.cli.helpers import Result, run, run_async, unused_sqlite_url

KEY_SHAPE = re.compile(r"^inb_sk_[A-Za-z0-9_-]{43}$")
CREATED_ID = re.compile(r"created API key ([0-9a-f-]{36})")


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
