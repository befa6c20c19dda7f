"""A negative answer of a known contact opens one follow-up case in its own transaction:
owned by the lead's owner, due by the touchpoint's SLA, with its `case.opened` event."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from inbound.db import new_id, table_of, utcnow
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.models import LeadEvent
from inbound.surveys.answering import Answer, Respondent, record_answer
from inbound.surveys.follow_up import is_negative
from inbound.surveys.models import AnswerSource, FeedbackCase
from inbound.surveys.reference import survey_to_answer
from tests.conftest import Headers
from tests.leads.helpers import count_rows
from tests.support.world import LEADS, World, get_lead
from tests.surveys.cases.helpers import claim, link_answer, list_cases, new_lead
from tests.surveys.helpers import answer, make_survey

CASES_TABLE = table_of(FeedbackCase)
EVENTS = table_of(LeadEvent)


@pytest.mark.parametrize(
    ("metric", "scale", "negative"),
    [
        ("nps", (0, 10), [0, 1, 2, 3, 4, 5, 6]),
        ("ces", (1, 5), [1, 2]),
        ("ces", (1, 7), [1, 2, 3]),
        ("csat", (1, 5), [1, 2]),
    ],
    ids=["nps", "ces-5", "ces-7", "csat"],
)
def test_negative_is_the_detractors_or_the_bottom_box(
    metric: str, scale: tuple[int, int], negative: list[int]
) -> None:
    low, high = scale
    found = [score for score in range(low, high + 1) if is_negative(metric, score, low, high)]
    assert found == negative


async def test_a_detractor_opens_a_case_owned_by_the_leads_owner_due_by_the_sla(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    await claim(client, admin, lead_id, "rep@acme.example")
    version_before = (await get_lead(client, world, lead_id))["version"]
    response = await link_answer(client, admin, lead_id, 3, comment="too slow")
    assert response.status_code == 201, response.text
    answered_at = datetime.fromisoformat(response.json()["answered_at"])
    [case] = (await list_cases(client, admin))["items"]
    assert (case["status"], case["owner"], case["note"]) == ("open", "rep@acme.example", None)
    assert (case["contact_id"], case["email"]) == (lead_id, "ana@example.com")
    shown = case["answer"]
    assert (shown["metric"], shown["score"], shown["scale_min"], shown["scale_max"]) == (
        "nps", 3, 0, 10,
    )  # fmt: skip
    assert (shown["comment"], shown["survey"], shown["touchpoint"]) == (
        "too slow", "support-nps", "support",
    )  # fmt: skip
    assert shown["id"] == response.json()["id"]
    assert datetime.fromisoformat(case["due_at"]) == answered_at + timedelta(hours=24)
    assert case["overdue"] is False
    # The case is a change of its lead: a new version, and its event at that version.
    lead = await get_lead(client, world, lead_id)
    assert lead["version"] == version_before + 1
    rows = (
        await db.execute(select(EVENTS).where(EVENTS.c.type == "case.opened"))
    ).mappings().all()  # fmt: skip
    [opened] = rows
    assert (str(opened["lead_id"]), opened["lead_version"]) == (lead_id, lead["version"])
    assert opened["data"]["case"] == case
    expected = {"id": lead_id, "email": "ana@example.com", "owner": "rep@acme.example",
                "version": lead["version"]}  # fmt: skip
    assert opened["data"]["lead"] == expected


@pytest.mark.parametrize(
    ("survey", "score", "opens"),
    [
        ({"metric": "nps"}, 6, True),
        ({"metric": "nps"}, 7, False),
        ({"metric": "ces", "scale": 5}, 2, True),
        ({"metric": "ces", "scale": 5}, 3, False),
        ({"metric": "ces", "scale": 7}, 3, True),
        ({"metric": "ces", "scale": 7}, 4, False),
        ({"metric": "csat"}, 2, True),
        ({"metric": "csat"}, 3, False),
    ],
    ids=["nps-6", "nps-7", "ces5-2", "ces5-3", "ces7-3", "ces7-4", "csat-2", "csat-3"],
)
async def test_each_metric_opens_a_case_at_the_bottom_of_its_scale_only(
    client: httpx.AsyncClient,
    world: World,
    admin: Headers,
    survey: dict[str, Any],
    score: int,
    opens: bool,
) -> None:
    await make_survey(client, admin, slug="asked", **survey)
    lead_id = await new_lead(client, world)
    response = await link_answer(client, admin, lead_id, score, survey="asked")
    assert response.status_code == 201, response.text
    assert len((await list_cases(client, admin))["items"]) == (1 if opens else 0)


async def test_an_anonymous_answer_opens_no_case(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    await new_lead(client, world)
    anonymous: list[dict[str, Any]] = [{"visitor_id": "b-unknown"}, {}, {"email": "x@example.com"}]
    for who in anonymous:
        response = await answer(client, world, score=0, **who)
        assert response.status_code == 201, response.text
    assert await count_rows(db, FeedbackCase) == 0
    # The same score from a known contact's page opens one.
    assert (await answer(client, world, score=0, email="ana@example.com")).status_code == 201
    assert await count_rows(db, FeedbackCase) == 1


async def test_a_retried_answer_opens_no_second_case(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    assert (await link_answer(client, admin, lead_id, 1)).status_code == 201
    assert (await link_answer(client, admin, lead_id, 1)).status_code == 409
    assert await count_rows(db, FeedbackCase) == 1
    # And should anything try, the answer holds one case at most.
    [row] = (await db.execute(select(CASES_TABLE))).mappings().all()
    second = {**row, "id": new_id()}
    with pytest.raises(IntegrityError):
        async with db.begin_nested():
            await db.execute(insert(CASES_TABLE).values(second))


async def test_erasing_a_lead_removes_its_cases(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    other = await new_lead(client, world, "bob@example.com")
    assert (await link_answer(client, admin, lead_id, 2)).status_code == 201
    assert (await link_answer(client, admin, other, 2)).status_code == 201
    assert await count_rows(db, FeedbackCase) == 2
    assert (await client.delete(f"{LEADS}/{lead_id}", headers=admin)).status_code == 204
    [left] = (await list_cases(client, admin))["items"]
    assert left["contact_id"] == other
    assert (await client.get(f"/api/v1/cases/{left['id']}", headers=admin)).status_code == 200


@asynccontextmanager
async def counted(connection: AsyncConnection) -> AsyncIterator[Callable[[], int]]:
    """Count the statements sent to the database inside the block."""
    sent: list[str] = []
    if connection.dialect.name == "postgresql":
        driver: Any = (await connection.get_raw_connection()).driver_connection
        logger: Any = lambda record: sent.append(record.query)  # noqa: E731
        driver.add_query_logger(logger)
        try:
            yield lambda: len(sent)
        finally:
            driver.remove_query_logger(logger)
        return

    def note(*args: Any) -> None:
        sent.append(args[2])

    event.listen(connection.sync_connection, "before_cursor_execute", note)
    try:
        yield lambda: len(sent)
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", note)


async def test_only_a_negative_answer_of_a_known_contact_costs_statements_more(
    client: httpx.AsyncClient, world: World, connection: AsyncConnection
) -> None:
    await new_lead(client, world)
    await new_lead(client, world, "bob@example.com")
    promoter = await new_lead(client, world, "cy@example.com")
    detractor = await new_lead(client, world, "di@example.com")

    # The survey read once, before counting, as the process's cache would hold it.
    surveys = CaptureReference(lambda: async_sessionmaker(connection), 60)
    await survey_to_answer(surveys, "support-nps")

    async def statements(respondent: Respondent, score: int, source: AnswerSource) -> int:
        async with counted(connection) as count:
            given = Answer(score, None, source)
            await record_answer(connection, surveys, "support-nps", respondent, given, utcnow())
            return count()

    page = AnswerSource.PUBLIC
    positive = await statements(Respondent(email="ana@example.com"), 10, page)
    known_negative = await statements(Respondent(email="bob@example.com"), 0, page)
    # The lead's new version; on PostgreSQL the case and its event ride the answer's statement,
    # elsewhere each is a statement of its own.
    assert known_negative == positive + (1 if connection.dialect.name == "postgresql" else 3)
    # A link's answer locks the lead (it may close a case of the page's): a negative one gives
    # the lead its new version in that same statement.
    link = AnswerSource.LINK
    link_positive = await statements(Respondent(contact_id=uuid.UUID(promoter)), 10, link)
    link_negative = await statements(Respondent(contact_id=uuid.UUID(detractor)), 0, link)
    assert link_negative == link_positive + (0 if connection.dialect.name == "postgresql" else 2)
    anonymous_positive = await statements(Respondent(visitor_id="b-1"), 10, page)
    anonymous_negative = await statements(Respondent(visitor_id="b-2"), 0, page)
    assert anonymous_negative == anonymous_positive
