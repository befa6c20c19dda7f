"""Changes to one case racing each other on real, committed transactions: one wins on the same
version, none is lost without one, and each is one event at a lead version of its own."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from inbound.db import table_of
from inbound.leads.models import LeadEvent
from tests.support.world import World
from tests.surveys.cases.helpers import (
    CASES,
    link_answer,
    open_case,
    patch_case,
)

pytestmark = pytest.mark.committing
EVENTS = table_of(LeadEvent)
BURST = 8


@pytest.fixture
async def case(committing_client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    _, case = await open_case(committing_client, world, 1)
    return case


async def lead_versions(app: Litestar, lead_id: str) -> list[int]:
    async with app.state.sessionmaker() as session:
        statement = (
            select(EVENTS.c.lead_version)
            .where(EVENTS.c.lead_id == uuid.UUID(lead_id), EVENTS.c.type.like("case.%"))
            .order_by(EVENTS.c.seq)
        )
        return list((await session.execute(statement)).scalars())


async def test_racing_changes_on_one_version_let_one_win(
    committing_client: httpx.AsyncClient, world: World, case: dict[str, Any]
) -> None:
    responses = await asyncio.gather(
        *(
            patch_case(committing_client, world.admin, case["id"], {"owner": f"rep{i}"}, '"1"')
            for i in range(BURST)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [412] * (BURST - 1)
    [winner] = [r.json()["owner"] for r in responses if r.status_code == 200]
    stored = await committing_client.get(f"{CASES}/{case['id']}", headers=world.admin)
    assert (stored.json()["owner"], stored.json()["version"]) == (winner, 2)


async def test_racing_changes_without_a_version_are_all_kept(
    committing_app: Litestar,
    committing_client: httpx.AsyncClient,
    world: World,
    case: dict[str, Any],
) -> None:
    bodies = [{"owner": "bo"}, {"note": "called twice"}, {"status": "contacted"}]
    # A negative answer of another survey by the same lead races too: it changes the lead.
    await committing_client.post(
        "/api/v1/surveys",
        json={"slug": "support-csat", "touchpoint": "support", "metric": "csat",
              "question": "How satisfied are you?"},
        headers=world.admin,
    )  # fmt: skip
    responses = await asyncio.gather(
        *(patch_case(committing_client, world.admin, case["id"], body) for body in bodies),
        link_answer(committing_client, world.admin, case["contact_id"], 1, survey="support-csat"),
    )
    assert [r.status_code for r in responses] == [200, 200, 200, 201]
    stored = (await committing_client.get(f"{CASES}/{case['id']}", headers=world.admin)).json()
    assert (stored["owner"], stored["note"], stored["status"]) == (
        "bo", "called twice", "contacted",
    )  # fmt: skip
    assert stored["version"] == 4
    # Five case events (two openings, three changes), each at a lead version of its own.
    versions = await lead_versions(committing_app, case["contact_id"])
    assert len(versions) == 5
    assert versions == sorted(set(versions))
