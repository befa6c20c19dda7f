"""The event writer: group commit, failures, shutdown, partitions that vanish, and races
between processes."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.app import create_app
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.config import Settings
from inbound.db import create_engine
from inbound.outage import unavailability
from inbound.tracking import hooks
from inbound.tracking.models import TrackingEvent
from inbound.tracking.writer import EventsNotStored, EventWriter
from tests.conftest import Headers, _base_url, http_client, is_sqlite
from tests.tracking.helpers import BATCH, Site, event, make_site, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:1/inbound"


SITE = uuid.uuid4()


def row(at: datetime | None = None, message_id: str | None = None) -> dict[str, Any]:
    """An event of one site, ready to store."""
    at = at or datetime.now(UTC)
    return {
        "id": uuid.uuid4(), "occurred_at": at, "received_at": at, "site_id": SITE,
        "message_id": message_id or str(uuid.uuid4()), "type": "track", "event": "E",
        "anonymous_id": "a", "user_id": None, "url": None, "referrer": None, "title": None,
        "asset_id": None, "properties": {}, "context": {},
    }  # fmt: skip


async def count(connection: AsyncConnection) -> int:
    return int(
        (await connection.execute(select(func.count()).select_from(TrackingEvent))).scalar_one()
    )


def count_rounds(writer: EventWriter) -> list[int]:
    """The number of requests ``writer`` stores in each of its transactions, as it goes."""
    rounds: list[int] = []
    original = writer._once

    async def counted(taken: Any) -> list[int]:
        rounds.append(len(taken))
        return await original(taken)

    writer._once = counted  # type: ignore[method-assign]
    return rounds


class TestGroupCommit:
    async def test_concurrent_writes_share_transactions(self, connection: AsyncConnection) -> None:
        writer = EventWriter(lambda: connection, linger_seconds=0.01)
        rounds = count_rounds(writer)
        results = await asyncio.gather(*(writer.write([row()], [True]) for _ in range(30)))
        assert results == [0] * 30
        assert await count(connection) == 30
        assert sum(rounds) == 30
        assert len(rounds) < 30  # gathered, not one transaction per request

    async def test_the_stored_events_hook_sees_the_rows_stored_in_their_transaction(
        self, connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[tuple[list[str], int]] = []

        async def events_stored(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
            # In the writer's transaction: the rows are there already.
            seen.append(([r["message_id"] for r in rows], await count(conn)))

        monkeypatch.setattr(hooks, "events_stored", events_stored)
        writer = EventWriter(lambda: connection)
        await writer.write([row(message_id="a")], [True])
        duplicates = await writer.write(
            [row(message_id="a"), row(message_id="b"), row(message_id="b")], [True, True, True]
        )
        assert duplicates == 2
        assert seen == [(["a"], 1), (["b"], 2)]

    async def test_a_request_the_database_refuses_fails_alone_with_503(
        self, connection: AsyncConnection
    ) -> None:
        writer = EventWriter(lambda: connection, linger_seconds=0.01)
        rounds = count_rounds(writer)
        bad = row()
        bad["type"] = None  # NOT NULL: either database refuses it, and the group's COPY or insert
        outcomes = await asyncio.gather(
            writer.write([row()], [True]),
            writer.write([bad, row()], [True, True]),
            writer.write([row(), row()], [True, True]),
            return_exceptions=True,
        )
        assert rounds[0] == 3  # they were stored together first
        assert outcomes[0] == outcomes[2] == 0
        refused = outcomes[1]
        assert isinstance(refused, EventsNotStored), refused
        assert (refused.status_code, refused.headers["Retry-After"].isdigit()) == (503, True)
        assert await count(connection) == 3  # the others' rows; none of the refused request's
        # Its message ids were not taken: sent again, fixed, they are stored.
        assert await writer.write([row(message_id=bad["message_id"])], [True]) == 0
        assert await count(connection) == 4

    async def test_close_stores_what_it_holds_then_refuses(
        self, connection: AsyncConnection
    ) -> None:
        writer = EventWriter(lambda: connection, linger_seconds=0.05)
        pending = [asyncio.create_task(writer.write([row()], [True])) for _ in range(5)]
        await asyncio.sleep(0)
        await writer.close()
        assert [await task for task in pending] == [0] * 5
        assert await count(connection) == 5
        with pytest.raises(Exception, match="shutting down") as refused:
            await writer.write([row()], [True])
        assert getattr(refused.value, "status_code", None) == 503

    async def test_a_partition_rolled_back_is_made_again(self, connection: AsyncConnection) -> None:
        if is_sqlite(_base_url()):
            pytest.skip("SQLite has no partitions")
        writer = EventWriter(lambda: connection)
        at = datetime(2026, 11, 5, tzinfo=UTC)
        savepoint = await connection.begin_nested()
        await writer.write([row(at)], [True])  # makes, and remembers, November's partition
        await savepoint.rollback()  # ... which is gone again
        assert await writer.write([row(at)], [True]) == 0
        assert await count(connection) == 1

    async def test_an_unreachable_database_fails_the_write(self, tmp_path: Path) -> None:
        url = NOWHERE
        if is_sqlite(_base_url()):
            url = f"sqlite+aiosqlite:///{tmp_path}/missing/inbound.db"
        engine = create_engine(url)
        try:
            writer = EventWriter(lambda: engine)
            # Whatever the driver raises; `unavailability` below says it is an outage.
            with pytest.raises(Exception) as failed:  # noqa: PT011
                await writer.write([row()], [True])
        finally:
            await engine.dispose()
        assert unavailability(failed.value) is not None


class TestOutage:
    async def test_an_outage_answers_503_with_retry_after_and_stores_nothing(
        self, app: Litestar, client: httpx.AsyncClient, site: Site, tmp_path: Path,
        connection: AsyncConnection,
    ) -> None:  # fmt: skip
        assert (await send(client, site, [event()])).status_code == 200  # the key is cached
        url = NOWHERE
        if is_sqlite(_base_url()):
            url = f"sqlite+aiosqlite:///{tmp_path}/missing/inbound.db"
        engine = create_engine(url)
        writer: EventWriter = app.state.event_writer
        working = writer.bind
        writer.bind = lambda: engine
        try:
            response = await send(client, site, [event(messageId="lost")])
        finally:
            writer.bind = working
            await engine.dispose()
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"].isdigit()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert await count(connection) == 1
        again = await send(client, site, [event(messageId="lost")])
        assert again.json()["accepted"] == 1  # the id was not taken by the failed batch


@pytest.fixture
async def two_apps(settings: Settings, engine: AsyncEngine) -> AsyncIterator[list[Litestar]]:
    """Two service processes' worth of app, each with its own pool and writer, committing."""
    apps = [create_app(settings), create_app(settings)]
    yield apps
    for app in apps:
        await app.state.engine.dispose()
    async with engine.begin() as conn:
        for table in ("tracking_events", "tracking_messages", "api_keys", "sites"):
            await conn.execute(text(f"DELETE FROM {table}"))


class TestConcurrency:
    async def test_two_concurrent_batches_with_the_same_ids_store_each_once(
        self, two_apps: list[Litestar], engine: AsyncEngine
    ) -> None:
        first, second = two_apps
        async with first.state.sessionmaker() as session:
            _, plain = await ApiKeyService(session).issue(name="admin", scopes=[Scope.ADMIN])
            await session.commit()
        admin: Headers = {"Authorization": f"Bearer {plain}"}
        async with http_client(first) as a, http_client(second) as b:
            site = await make_site(a, admin)
            for _ in range(5):
                events = [event() for _ in range(20)]
                answers = await asyncio.gather(
                    a.post(BATCH, json={"batch": events}, headers=site.basic),
                    b.post(BATCH, json={"batch": events}, headers=site.basic),
                )
                bodies = [answer.json() for answer in answers]
                assert sum(body["accepted"] for body in bodies) == 20, bodies
                assert sum(body["duplicates"] for body in bodies) == 20, bodies
        async with engine.connect() as conn:
            total = await count(conn)
            distinct = (await conn.execute(
                select(func.count(func.distinct(TrackingEvent.message_id)))
            )).scalar_one()  # fmt: skip
        assert total == distinct == 100
