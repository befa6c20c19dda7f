"""`/api/v1/cases`: listing with filters in due order, reading with an ETag, and moving a case
forward with its owner and note."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.scopes import Scope
from inbound.db import table_of, utcnow
from inbound.leads.models import LeadEvent
from inbound.surveys.models import FeedbackCase
from tests.conftest import Headers, KeyMaker
from tests.problems import assert_names, error_fields, refusing
from tests.support.world import World
from tests.surveys.cases.helpers import (
    CASES,
    link_answer,
    list_cases,
    new_lead,
    open_case,
    patch_case,
)
from tests.surveys.helpers import make_survey, make_touchpoint

CASES_TABLE = table_of(FeedbackCase)
EVENTS = table_of(LeadEvent)


@pytest.fixture
async def case(client: httpx.AsyncClient, world: World, admin: Headers) -> dict[str, Any]:
    _, case = await open_case(client, world, 4)
    return case


async def events_of(db: AsyncSession, *types: str) -> list[dict[str, Any]]:
    statement = select(EVENTS).where(EVENTS.c.type.in_(types)).order_by(EVENTS.c.seq)
    return [dict(row) for row in (await db.execute(statement)).mappings()]


class TestReading:
    async def test_one_case_has_an_etag_and_an_unknown_one_is_404(
        self, client: httpx.AsyncClient, admin: Headers, case: dict[str, Any]
    ) -> None:
        response = await client.get(f"{CASES}/{case['id']}", headers=admin)
        assert response.status_code == 200
        assert response.headers["etag"] == '"1"'
        assert response.json() == case
        missing = await client.get(f"{CASES}/01a23b7a-e3c5-73ce-a7ef-1e2180ec859f", headers=admin)
        assert (missing.status_code, missing.json()["type"]) == (
            404, "urn:inbound:problem:case-not-found",
        )  # fmt: skip

    async def test_reading_takes_leads_read_and_changing_leads_write(
        self, client: httpx.AsyncClient, case: dict[str, Any], make_key: KeyMaker
    ) -> None:
        content = await make_key(Scope.CONTENT_WRITE)
        assert (await client.get(CASES, headers=content)).status_code == 403
        reader = await make_key(Scope.LEADS_READ)
        assert (await client.get(f"{CASES}/{case['id']}", headers=reader)).status_code == 200
        refused = await patch_case(client, reader, case["id"], {"note": "called"})
        assert refused.status_code == 403
        writer = await make_key(Scope.LEADS_WRITE)
        assert (await patch_case(client, writer, case["id"], {"note": "called"})).status_code == 200
        assert (await client.get(CASES)).status_code == 401


class TestListing:
    async def test_filters_and_due_order_with_keyset_pages(
        self, client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
    ) -> None:
        await make_touchpoint(client, admin, slug="onboarding", name="Onboarding",
                              channel="onboarding", sla_hours=2)  # fmt: skip
        await make_survey(client, admin, slug="onboarding-csat", touchpoint="onboarding",
                          metric="csat")  # fmt: skip
        leads = [await new_lead(client, world, f"p{i}@example.com") for i in range(4)]
        for lead_id in leads[:2]:
            assert (await link_answer(client, admin, lead_id, 0)).status_code == 201
        for lead_id in leads[2:]:
            response = await link_answer(client, admin, lead_id, 1, survey="onboarding-csat")
            assert response.status_code == 201
        everything = (await list_cases(client, admin))["items"]
        # Due in 2 hours (onboarding) before due in 24 (support).
        assert [c["contact_id"] for c in everything] == [leads[2], leads[3], leads[0], leads[1]]
        first = await list_cases(client, admin, limit=3)
        assert first["next_cursor"] is not None
        rest = await list_cases(client, admin, limit=3, cursor=first["next_cursor"])
        assert [c["id"] for c in first["items"] + rest["items"]] == [c["id"] for c in everything]
        assert rest["next_cursor"] is None
        # Any cursor of the right shape is a place: the far end of the list.
        assert (await list_cases(client, admin, cursor="f" + "_" * 31))["items"] == []

        def ids(page: dict[str, Any]) -> list[str]:
            return [c["contact_id"] for c in page["items"]]

        assert ids(await list_cases(client, admin, survey="onboarding-csat")) == leads[2:]
        assert ids(await list_cases(client, admin, touchpoint="support")) == leads[:2]
        assert ids(await list_cases(client, admin, contact_id=leads[1])) == [leads[1]]
        assert ids(await list_cases(client, admin, survey="no-such-survey")) == []
        await patch_case(client, admin, everything[0]["id"], {"owner": "ana", "status": "resolved"})
        assert ids(await list_cases(client, admin, owner="ana")) == [leads[2]]
        assert ids(await list_cases(client, admin, status="resolved")) == [leads[2]]
        assert ids(await list_cases(client, admin, status="open")) == [leads[3], *leads[:2]]
        # The onboarding cases fall due: the unresolved one is overdue, the resolved one not.
        await db.execute(
            update(CASES_TABLE)
            .where(CASES_TABLE.c.survey_id == uuid.UUID(everything[0]["answer"]["survey_id"]))
            .values(due_at=utcnow() - timedelta(minutes=1))
        )
        overdue = await list_cases(client, admin, overdue="true")
        assert ids(overdue) == [leads[3]]
        assert overdue["items"][0]["overdue"] is True
        assert ids(await list_cases(client, admin, overdue="false")) == [leads[2], *leads[:2]]

    @pytest.mark.parametrize(
        ("params", "field"),
        refusing(
            stauts=["open"], status=["closed"], overdue=["maybe"], contact_id=["ana"],
            cursor=["not-a-cursor", "A" * 31], limit=["501"],
        ),
    )  # fmt: skip
    async def test_bad_parameters_are_400_naming_them(
        self, client: httpx.AsyncClient, admin: Headers, params: dict[str, str], field: str
    ) -> None:
        assert_names(await client.get(CASES, params=params, headers=admin), field)


class TestChanging:
    async def test_a_case_moves_forward_with_its_times_and_events(
        self, client: httpx.AsyncClient, admin: Headers, case: dict[str, Any], db: AsyncSession
    ) -> None:
        contacted = await patch_case(
            client,
            admin,
            case["id"],
            {"status": "contacted", "owner": "bo", "note": "called"},
            '"1"',
        )
        assert contacted.status_code == 200, contacted.text
        assert contacted.headers["etag"] == '"2"'
        body = contacted.json()
        assert (body["status"], body["owner"], body["note"], body["version"]) == (
            "contacted", "bo", "called", 2,
        )  # fmt: skip
        assert body["contacted_at"] is not None
        assert body["resolved_at"] is None
        resolved = await patch_case(client, admin, case["id"], {"status": "resolved"})
        assert resolved.json()["resolved_at"] is not None
        assert resolved.json()["contacted_at"] == body["contacted_at"]
        updated, done = await events_of(db, "case.updated", "case.resolved")
        assert (updated["type"], updated["data"]["changes"]) == (
            "case.updated", ["status", "owner", "note"],
        )  # fmt: skip
        assert updated["data"]["case"] == body
        assert (done["type"], done["data"]["changes"]) == ("case.resolved", ["status"])
        assert done["data"]["case"] == resolved.json()
        assert done["lead_version"] == updated["lead_version"] + 1

    async def test_open_goes_straight_to_resolved_and_nothing_goes_back(
        self, client: httpx.AsyncClient, admin: Headers, case: dict[str, Any]
    ) -> None:
        resolved = await patch_case(client, admin, case["id"], {"status": "resolved"})
        assert resolved.status_code == 200
        assert resolved.json()["contacted_at"] is None
        for status in ("open", "contacted"):
            back = await patch_case(client, admin, case["id"], {"status": status})
            assert (back.status_code, error_fields(back)) == (422, ["status"])
            assert back.json()["type"] == "urn:inbound:problem:case-status-regression"
        # Its note may still be written.
        noted = await patch_case(client, admin, case["id"], {"note": "sent a voucher"})
        assert (noted.status_code, noted.json()["status"]) == (200, "resolved")

    async def test_a_stale_if_match_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, admin: Headers, case: dict[str, Any]
    ) -> None:
        assert (await patch_case(client, admin, case["id"], {"note": "first"})).status_code == 200
        stale = await patch_case(client, admin, case["id"], {"note": "second"}, '"1"')
        assert (stale.status_code, error_fields(stale)) == (412, ["If-Match"])
        assert (await client.get(f"{CASES}/{case['id']}", headers=admin)).json()["note"] == "first"

    async def test_a_change_that_changes_nothing_writes_nothing(
        self, client: httpx.AsyncClient, admin: Headers, case: dict[str, Any], db: AsyncSession
    ) -> None:
        same = await patch_case(client, admin, case["id"], {"status": "open", "note": None})
        assert (same.status_code, same.json()["version"]) == (200, 1)
        assert await events_of(db, "case.updated", "case.resolved") == []
        cleared = await patch_case(client, admin, case["id"], {"owner": "bo"})
        assert cleared.json()["owner"] == "bo"
        cleared = await patch_case(client, admin, case["id"], {"owner": None})
        assert (cleared.json()["owner"], cleared.json()["version"]) == (None, 3)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"status": "closed"}, "status"),
            ({"note": "   "}, "note"),
            ({"owner": ""}, "owner"),
            ({"status": None}, "status"),
            ({"priority": "high"}, "priority"),
            ({"note": "x" * 10_001}, "note"),
        ],
        ids=["status", "blank-note", "empty-owner", "null-status", "unknown", "long-note"],
    )
    async def test_bad_bodies_are_400_naming_the_field(
        self,
        client: httpx.AsyncClient,
        admin: Headers,
        case: dict[str, Any],
        body: dict[str, Any],
        field: str,
    ) -> None:
        response = await patch_case(client, admin, case["id"], body)
        assert response.status_code == 400, response.text
        assert error_fields(response) == [field]

    async def test_changing_an_unknown_case_is_404(
        self, client: httpx.AsyncClient, admin: Headers, world: World
    ) -> None:
        response = await patch_case(
            client, admin, "01a23b7a-e3c5-73ce-a7ef-1e2180ec859f", {"note": "x"}
        )
        assert response.status_code == 404
