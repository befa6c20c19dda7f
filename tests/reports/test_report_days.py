"""The journey read from the day tables: the same figures as from the contacts and answers,
before and after each kind of change to a day already rolled, and the day tables really read.

"From the source" below is the same report with the day tables' bookkeeping emptied, which
reads everything from the contacts and answers (`test_journey.py` checks that path against a
Python computation).
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from inbound.db import utcnow
from inbound.leads.repository import CONTACTS
from inbound.reports.daily.plan import plan_days
from inbound.reports.daily.roll import roll_report_days
from inbound.reports.daily.tables import DAY_STAGES, REPORT_DAY_CHANGES, REPORT_DAYS
from inbound.surveys.repository import ANSWERS
from tests.conftest import Headers
from tests.reports.journey_answers import JourneyAnswers, draw, insert_answers
from tests.reports.people import JANUARY, PEOPLE, Ids, bounds
from tests.reports.test_funnel import cohort_counts
from tests.reports.test_journey import check, journey, period_counts

ROLLED_UP_TO = datetime(2026, 3, 3, tzinfo=UTC)
ASKED = {"from": "2025-12-01", "to": "2026-02-28"}
QUESTIONS = [{}, {"persona": "cfo"}, {"mode": "period"}, {"window_days": "10"},
             {"tz": "Asia/Tokyo", "persona": "cio"}, {"mode": "period", "persona": "cio"},
             {"tz": "America/New_York", "mode": "period"}]  # fmt: skip
QUESTION_IDS = ["plain", "persona", "period", "window", "tokyo-persona", "period-persona",
                "new-york-period"]  # fmt: skip


@pytest.fixture
async def answers(db: AsyncSession, ids: Ids) -> JourneyAnswers:
    return await insert_answers(db, ids, draw())


async def roll(connection: AsyncConnection) -> int:
    """Roll the days up to the end of the tests' data (not every day since: quicker)."""
    return await roll_report_days(connection, now=ROLLED_UP_TO)


def shown(report: dict[str, Any]) -> list[Any]:
    """What a journey shows, without the time it was asked."""
    stages: list[Any] = report["stages"]
    return stages


async def from_source(
    client: httpx.AsyncClient, reader: Headers, connection: AsyncConnection, **params: Any
) -> list[Any]:
    """The report with no day rolled, in a savepoint undone afterwards."""
    savepoint = await connection.begin_nested()
    await connection.execute(delete(REPORT_DAYS))
    report = shown(await journey(client, reader, **params))
    await savepoint.rollback()
    return report


async def changes_logged(connection: AsyncConnection) -> list[date]:
    days = await connection.scalars(select(REPORT_DAY_CHANGES.c.day).order_by("day"))
    return list(days.all())


class TestRolled:
    @pytest.mark.parametrize("params", QUESTIONS, ids=QUESTION_IDS)
    async def test_rolling_changes_no_figure(
        self, client: httpx.AsyncClient, reader: Headers, connection: AsyncConnection,
        db: AsyncSession, ids: Ids, answers: JourneyAnswers, params: dict[str, str],
    ) -> None:  # fmt: skip
        before = shown(await journey(client, reader, **ASKED, **params))
        assert await roll(connection) > 0
        start, end = bounds(date(2025, 12, 1), date(2026, 2, 28), params.get("tz", "UTC"))
        plan = await plan_days(db, start, end)
        assert plan.rolled_days >= 64  # whole UTC days from the first answer (Dec 25) on
        assert shown(await journey(client, reader, **ASKED, **params)) == before
        assert await roll(connection) == 0  # nothing due any more

    async def test_every_figure_against_the_rows(
        self, client: httpx.AsyncClient, reader: Headers, connection: AsyncConnection,
        ids: Ids, answers: JourneyAnswers,
    ) -> None:  # fmt: skip
        await roll(connection)
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31))
        report = await journey(client, reader, **JANUARY)
        check(report, cohort_counts(PEOPLE, start, end, entry="subscriber"), answers, start, end)
        report = await journey(client, reader, **JANUARY, window_days=3)
        check(report, cohort_counts(PEOPLE, start, end, 3, "subscriber"), answers, start, end)
        cios = [p for p in PEOPLE if p.persona == "cio"]
        report = await journey(client, reader, **JANUARY, persona="cio")
        check(report, cohort_counts(cios, start, end, entry="subscriber"), answers, start, end,
              persona="cio")  # fmt: skip
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31), "America/New_York")
        report = await journey(client, reader, **JANUARY, mode="period", tz="America/New_York")
        check(report, period_counts(PEOPLE, start, end), answers, start, end)

    async def test_the_day_tables_are_what_is_read_and_a_change_sends_a_day_back(
        self, client: httpx.AsyncClient, reader: Headers, connection: AsyncConnection,
        ids: Ids, answers: JourneyAnswers,
    ) -> None:  # fmt: skip
        await roll(connection)
        truth = shown(await journey(client, reader, **JANUARY, mode="period"))
        # January 5th: the first person became an MQL. Counted a thousand times over there,
        # the report shows it: the day comes from its roll-up.
        fifth = DAY_STAGES.c.day == date(2026, 1, 5)
        await connection.execute(update(DAY_STAGES).where(fifth)
                                 .values(contacts=DAY_STAGES.c.contacts + 1000))  # fmt: skip
        tampered = shown(await journey(client, reader, **JANUARY, mode="period"))
        assert [s["count"] for s in tampered] != [s["count"] for s in truth]
        # The person's persona changes: each day it reached a stage on is logged, and read
        # from the source again until rolled.
        await connection.execute(update(CONTACTS).where(CONTACTS.c.id == PEOPLE[0].id)
                                 .values(persona_id=ids.personas["cfo"]))  # fmt: skip
        assert date(2026, 1, 5) in await changes_logged(connection)
        again = shown(await journey(client, reader, **JANUARY, mode="period"))
        assert again == truth  # persona-blind counts: the move changes none of them
        assert await roll(connection) >= 1
        assert await changes_logged(connection) == []
        assert shown(await journey(client, reader, **JANUARY, mode="period")) == truth


CHANGES = ["stage-move", "persona", "erasure", "late-answer", "answer-detached", "future-stage"]


class TestChangesToRolledDays:
    """Each change to what a rolled day counted: the report equals the source's at once, and
    again once the day is rolled anew."""

    @pytest.mark.parametrize("change", CHANGES)
    @pytest.mark.parametrize("params", QUESTIONS[:4], ids=QUESTION_IDS[:4])
    async def test_the_report_follows_the_change(
        self, client: httpx.AsyncClient, reader: Headers, connection: AsyncConnection,
        ids: Ids, answers: JourneyAnswers, change: str, params: dict[str, str],
    ) -> None:  # fmt: skip
        await roll(connection)
        before = shown(await journey(client, reader, **ASKED, **params))
        first = CONTACTS.c.id == PEOPLE[0].id
        match change:
            case "stage-move":  # a January contact becomes a customer today
                await connection.execute(update(CONTACTS).where(first).values(
                    opportunity_at=utcnow(), customer_at=utcnow(), stage="customer"))  # fmt: skip
            case "persona":
                await connection.execute(update(CONTACTS).where(first)
                                         .values(persona_id=ids.personas["cfo"]))  # fmt: skip
            case "erasure":  # its answers go with it
                await connection.execute(delete(CONTACTS).where(first))
            case "late-answer":  # an import of answers given in January
                row = (await connection.execute(select(ANSWERS).limit(1))).mappings().one()
                late = {**row, "id": uuid.uuid4(), "score": row["scale_min"], "stage": "lead"}
                await connection.execute(insert(ANSWERS).values(late))
            case "answer-detached":  # a page answer is no longer taken as the contact's
                await connection.execute(update(ANSWERS).where(ANSWERS.c.contact_id.is_not(None))
                                         .values(contact_id=None, stage=None))  # fmt: skip
            case "future-stage":  # a time not reached yet: counted only once it is
                later = utcnow() + timedelta(days=2)
                await connection.execute(update(CONTACTS).where(first).values(customer_at=later))
        assert await changes_logged(connection)
        after = shown(await journey(client, reader, **ASKED, **params))
        assert after == await from_source(client, reader, connection, **ASKED, **params)
        if change == "stage-move" and not params:
            assert [s["count"] for s in after][5] == [s["count"] for s in before][5] + 1
        await roll(connection)
        assert await changes_logged(connection) == []
        assert shown(await journey(client, reader, **ASKED, **params)) == after


class TestWhatIsLogged:
    async def test_the_usual_writes_log_nothing(
        self, connection: AsyncConnection, ids: Ids, answers: JourneyAnswers
    ) -> None:
        await roll(connection)
        # A score, a field: no day counted them.
        someone = CONTACTS.c.id == PEOPLE[6].id
        await connection.execute(update(CONTACTS).where(someone).values(score=42.0, company="A"))
        row = (await connection.execute(select(ANSWERS).limit(1))).mappings().one()
        now = {**row, "id": uuid.uuid4(), "answered_at": utcnow()}
        await connection.execute(insert(ANSWERS).values(now))  # an answer given now
        await connection.execute(update(ANSWERS).values(comment="thanks"))
        assert await changes_logged(connection) == []
        # A stage reached now: only the day the contact entered the funnel, its cohort's.
        await connection.execute(update(CONTACTS).where(someone).values(mql_at=utcnow()))
        assert await changes_logged(connection) == [date(2026, 1, 2)]

    async def test_a_day_over_only_just_is_not_rolled_yet(
        self, connection: AsyncConnection, ids: Ids
    ) -> None:
        now = utcnow().replace(hour=1, minute=0, second=0, microsecond=0)
        await roll_report_days(connection, now=now)
        latest = (await connection.execute(select(func.max(REPORT_DAYS.c.day)))).scalar_one()
        assert latest == now.date() - timedelta(days=2)  # yesterday ended only an hour ago
        assert await roll_report_days(connection, now=now + timedelta(hours=1)) == 1
