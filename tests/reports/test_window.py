"""`window_days` counts exact 24-hour days, whatever the database session's time zone."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from inbound.leads.repository import CONTACTS
from tests.conftest import Headers
from tests.problems import body_of
from tests.reports.conftest import _contact_row
from tests.reports.people import Person, journey
from tests.support.world import make_world

# New York springs forward on 8 March 2026 and falls back on 1 November: its calendar day
# across each change lasts 23 and 25 hours.
SPRING_LEAD = datetime(2026, 3, 7, 17, tzinfo=UTC)  # noon in New York
AUTUMN_LEAD = datetime(2026, 10, 31, 16, tzinfo=UTC)  # noon in New York
MINUTE = timedelta(minutes=1)
DAY = timedelta(hours=24)


def person(lead: datetime, mql: datetime) -> Person:
    return Person(journey(("lead", lead), ("mql", mql)), first_asset=None)


# Each contact reached mql this long after becoming a lead; inside a 1-day window or not.
PEOPLE = [
    (person(SPRING_LEAD, SPRING_LEAD + DAY - 30 * MINUTE), True),  # 23.5 h: past NY's day
    (person(SPRING_LEAD, SPRING_LEAD + DAY), True),
    (person(SPRING_LEAD, SPRING_LEAD + DAY + MINUTE), False),
    (person(AUTUMN_LEAD, AUTUMN_LEAD + DAY + 30 * MINUTE), False),  # 24.5 h: inside NY's day
    (person(AUTUMN_LEAD, AUTUMN_LEAD + DAY), True),
]


@pytest.fixture
async def across_daylight_saving(
    db: AsyncSession, connection: AsyncConnection, client: httpx.AsyncClient, admin: Headers
) -> None:
    world = await make_world(client, admin)
    for someone, _ in PEOPLE:
        row = _contact_row(someone, {}, {}, uuid.UUID(world.site_id))
        await db.execute(insert(CONTACTS).values(row))
    await db.commit()
    if connection.dialect.name == "postgresql":
        # Every request of the test runs on this connection.
        await connection.execute(text("SET TIME ZONE 'America/New_York'"))


async def window_report(
    client: httpx.AsyncClient, reader: Headers, name: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/reports/{name}",
        params={"from": "2026-03-01", "to": "2026-11-30", "window_days": 1, **params},
        headers=reader,
    )
    return body_of(response)


@pytest.mark.usefixtures("across_daylight_saving")
class TestWindowAcrossDaylightSaving:
    async def test_the_funnel_counts_24_hour_days(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        report = await window_report(client, reader, "funnel")
        counts = {stage["stage"]: stage["count"] for stage in report["total"]["stages"]}
        assert counts["lead"] == len(PEOPLE)
        assert counts["mql"] == sum(inside for _, inside in PEOPLE)

    async def test_velocity_times_those_inside_24_hour_days(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        report = await window_report(client, reader, "velocity")
        [to_mql] = [s for s in report["total"]["from_previous"] if s["to_stage"] == "mql"]
        assert to_mql["contacts"] == sum(inside for _, inside in PEOPLE)

    async def test_a_report_in_new_york_time_counts_the_same(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        report = await window_report(client, reader, "funnel", tz="America/New_York")
        counts = {stage["stage"]: stage["count"] for stage in report["total"]["stages"]}
        assert counts["mql"] == sum(inside for _, inside in PEOPLE)
