"""The sales API on real, committed transactions: claim races, and the change feed read while
leads change under it."""

import asyncio
import csv
import io
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.problems import body_of
from tests.support.world import LEADS, World, capture

pytestmark = pytest.mark.committing

STATUSES = ("attempting", "connected", "bad_timing", "new")
SLOW_WRITE_SETUP = (
    "CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_sleep(0.15); RETURN NEW; END $$",
    "CREATE TRIGGER slow_write AFTER UPDATE ON contacts FOR EACH ROW "
    "WHEN (NEW.lead_status = 'connected') EXECUTE FUNCTION slow_write()",
)


async def new_leads(client: httpx.AsyncClient, world: World, count: int) -> list[str]:
    found = []
    for n in range(count):
        response = await capture(client, world, email=f"lead{n}@example.com")
        assert response.status_code == 201, response.text
        found.append(response.json()["contact_id"])
    return found


async def test_ten_concurrent_claims_have_one_winner(
    committing_client: httpx.AsyncClient, world: World
) -> None:
    [lead] = await new_leads(committing_client, world, 1)
    answers = await asyncio.gather(
        *(
            committing_client.post(
                f"{LEADS}/{lead}/claim", json={"owner": f"rep{n}"}, headers=world.admin
            )
            for n in range(10)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * 9, [answer.text for answer in answers]
    [winner] = [answer.json()["owner"] for answer in answers if answer.status_code == 201]
    assert {answer.json()["owner"] for answer in answers if answer.status_code == 409} == {winner}
    lead_now = await committing_client.get(f"{LEADS}/{lead}", headers=world.admin)
    assert lead_now.json()["owner"] == winner


@pytest.fixture
async def slow_writes(engine: AsyncEngine) -> AsyncIterator[None]:
    """On PostgreSQL, a change to `connected` holds its transaction open for a while, so that
    later transactions commit first: the order a careless feed would skip changes in."""
    if engine.dialect.name != "postgresql":
        yield  # one writer at a time: commits come in order anyway
        return
    async with engine.begin() as connection:
        for statement in SLOW_WRITE_SETUP:
            await connection.execute(text(statement))
    yield
    async with engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER slow_write ON contacts"))
        await connection.execute(text("DROP FUNCTION slow_write()"))


@pytest.mark.usefixtures("slow_writes")
async def test_a_poller_sees_every_change_once_while_leads_change(
    committing_client: httpx.AsyncClient, world: World
) -> None:
    leads = await new_leads(committing_client, world, 25)
    writing = True
    rng = random.Random(7)

    async def write(lane: int) -> None:
        while writing:
            lead = rng.choice(leads)
            body = {"lead_status": rng.choice(STATUSES)}
            response = await committing_client.patch(
                f"{LEADS}/{lead}", json=body, headers=world.admin
            )
            assert response.status_code == 200, response.text

    seen: list[tuple[str, int]] = []
    cursor: str | None = None

    async def poll() -> int:
        """One poll: walk the pages from the last poll's cursor; how many changes came."""
        nonlocal cursor
        count = 0
        while True:
            params: dict[str, Any] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
            response = await committing_client.get(LEADS, params=params, headers=world.admin)
            assert response.status_code == 200, response.text
            page = response.json()
            seen.extend((item["id"], item["version"]) for item in page["items"])
            count += len(page["items"])
            cursor = page["poll_cursor"]
            if page["next_cursor"] is None:
                return count

    writers = [asyncio.create_task(write(lane)) for lane in range(4)]
    try:
        for _ in range(15):
            await poll()
            await asyncio.sleep(0.02)
    finally:
        writing = False
        await asyncio.gather(*writers)
    finals = {}
    for lead in leads:
        final = (await committing_client.get(f"{LEADS}/{lead}", headers=world.admin)).json()
        finals[lead] = final["version"]
    # The feed holds changes back while any older transaction on the server runs (other
    # databases' too): poll until the last changes come, or give up on a change missed.
    for _ in range(200):
        if not await poll() and dict(seen) == finals:
            break
        await asyncio.sleep(0.05)

    assert len(seen) == len(set(seen)), "a change was seen twice"
    latest: dict[str, int] = {}
    for lead, version in seen:
        assert version > latest.get(lead, 0), "a lead went back to an older version"
        latest[lead] = version
    for lead in leads:
        assert latest[lead] == finals[lead], "the latest change of a lead was missed"


async def feed_page(client: httpx.AsyncClient, world: World, **params: Any) -> dict[str, Any]:
    response = await client.get(LEADS, params=params, headers=world.admin)
    return body_of(response)


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


async def test_a_plain_list_shows_every_committed_lead_while_an_older_transaction_runs(
    committing_client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite: no transaction is ever overtaken")
    [first] = await new_leads(committing_client, world, 1)
    async with engine.connect() as slow:
        held = await slow.begin()
        change = "UPDATE contacts SET lead_status = 'connected', version = version + 1"
        await slow.execute(text(f"{change} WHERE id = :id"), {"id": first})
        late = (await capture(committing_client, world, email="late@example.com")).json()
        plain = await feed_page(committing_client, world)
        assert sorted(ids(plain)) == sorted([first, late["contact_id"]])
        assert plain["items"][0]["lead_status"] == "new"  # not the change still running
        # The change feed holds back what the running transaction could still overtake.
        fed = await feed_page(committing_client, world, updated_since="2000-01-01T00:00:00Z")
        assert late["contact_id"] not in ids(fed)
        cursor = plain["poll_cursor"]
        assert ids(await feed_page(committing_client, world, cursor=cursor)) == []
        await held.commit()
    # Then the feed brings the slow change, and nothing the plain list showed already.
    seen: list[str] = []
    for _ in range(100):  # other transactions in the cluster may hold the horizon a while
        page = await feed_page(committing_client, world, cursor=cursor)
        seen += ids(page)
        cursor = page["poll_cursor"]
        if seen:
            break
        await asyncio.sleep(0.1)
    assert seen == [first]
    assert ids(await feed_page(committing_client, world, cursor=cursor)) == []


async def test_the_csv_export_answers_on_committed_transactions(
    committing_client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite the request's own transaction holds the write lock until the answer is sent:
    # an export that read its first page in a transaction of its own waited for it (503).
    monkeypatch.setattr("inbound.leads.sales.export.EXPORT_PAGE", 2)
    await new_leads(committing_client, world, 5)
    response = await committing_client.get(
        LEADS, headers=world.admin | {"Accept": "text/csv"}, timeout=60
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(row["email"] for row in rows) == [f"lead{n}@example.com" for n in range(5)]
