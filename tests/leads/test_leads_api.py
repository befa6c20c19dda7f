"""`/api/v1/leads/{id}`: reading a lead, moving its stage, setting its persona by hand; and
how captures score it and make it an MQL."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import utcnow
from inbound.leads.repository import CONTACTS
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import move_stage, put_settings, set_contact, timeline
from tests.problems import body_of, error_fields
from tests.support.world import (
    LEADS,
    World,
    capture,
    get_lead,
    make_asset,
    make_persona,
    make_world,
)

UNKNOWN_ID = "01a20c4a-c977-72f1-b9e6-5e758768b236"
CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO"]},
    {"field": "company_size", "operator": "between", "min": 100},
]
CFO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CFO"]},
]
# Both CIO rules and half of the profile: fit 0.7 * 1 + 0.3 * 4/8 = 0.85, grade A.
WELL_FITTING: dict[str, Any] = {
    "job_title": "CIO", "company_size": 500, "first_name": "Ana", "last_name": "Lima",
}  # fmt: skip


@dataclass(frozen=True)
class SalesKey:
    headers: Headers
    actor: str


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site, the personas `cio` and `cfo`, and an e-book tagged highly to `cio`."""
    world = await make_world(client, admin)
    await make_persona(client, admin, "cio", rules=CIO_RULES)
    await make_persona(client, admin, "cfo", rules=CFO_RULES)
    await make_asset(client, admin, personas=[{"persona": "cio", "relevance": 3}])
    return world


@pytest.fixture
async def sales(sessionmaker: async_sessionmaker[AsyncSession]) -> SalesKey:
    async with sessionmaker() as session:
        key, plain = await ApiKeyService(session).issue(name="sales", scopes=[Scope.LEADS_WRITE])
        await session.commit()
    return SalesKey(headers={"Authorization": f"Bearer {plain}"}, actor=f"key:{key.id}")


async def cfo_by_hand(client: httpx.AsyncClient, world: World, sales: "SalesKey") -> str:
    """A new lead whose persona sales set to `cfo` by hand; its id."""
    lead_id = await new_lead(client, world)
    url = f"{LEADS}/{lead_id}/persona"
    assert (await client.put(url, json={"persona": "cfo"}, headers=sales.headers)).is_success
    return lead_id


async def new_lead(client: httpx.AsyncClient, world: World, **fields: Any) -> str:
    response = await capture(client, world, **(WELL_FITTING | fields))
    found: str = body_of(response, 201)["contact_id"]
    return found


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def stage_moves(lead: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(d["from"], d["to"], d["cause"]) for d in timeline(lead, "stage")]


class TestReadLead:
    async def test_a_captured_lead_reads_with_its_etag(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        lead_id = await new_lead(client, world)
        response = await client.get(f"{LEADS}/{lead_id}", headers=world.admin)
        assert response.status_code == 200, response.text
        lead = response.json()
        assert response.headers["etag"] == f'"{lead["version"]}"'
        assert lead["stage"] == "lead"
        entered = lead["stage_changed_at"]
        assert lead["reached_at"] == {
            "subscriber": entered, "lead": entered, "mql": None, "sql": None,
            "opportunity": None, "customer": None, "evangelist": None,
        }  # fmt: skip
        assert lead["persona"]["slug"] == "cio"
        assert lead["persona"]["source"] == "rules"
        assert (lead["fit"], lead["grade"], lead["score"]) == (0.85, "A", 50.0)
        assert stage_moves(lead) == [(None, "lead", "capture")]

    async def test_leads_read_may_read_a_lead(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        lead_id = await new_lead(client, world)
        reader = await make_key(Scope.LEADS_READ)
        assert (await client.get(f"{LEADS}/{lead_id}", headers=reader)).status_code == 200

    async def test_other_keys_may_not_read_a_lead(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        lead_id = await new_lead(client, world)
        content = await make_key(Scope.CONTENT_WRITE, Scope.REPORTS_READ)
        assert (await client.get(f"{LEADS}/{lead_id}", headers=content)).status_code == 403
        assert (await client.get(f"{LEADS}/{lead_id}")).status_code == 401

    async def test_an_unknown_lead_is_not_found(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.get(f"{LEADS}/{UNKNOWN_ID}", headers=admin)
        assert response.status_code == 404
        assert response.json()["type"] == "urn:inbound:problem:lead-not-found"


class TestMoveStage:
    async def test_a_forward_move_records_who_why_and_when(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        response = await move_stage(client, sales.headers, lead_id, "sql", reason="booked a demo")
        assert response.status_code == 200, response.text
        lead = response.json()
        assert response.headers["etag"] == f'"{lead["version"]}"'
        assert lead["stage"] == "sql"
        assert lead == await get_lead(client, world, lead_id)
        move = timeline(lead, "stage")[-1]
        assert move == {
            "from": "lead", "to": "sql", "cause": "sales", "actor": sales.actor,
            "reason": "booked a demo",
        }  # fmt: skip
        moved_at = lead["stage_changed_at"]
        assert next(e["at"] for e in lead["timeline"] if e["type"] == "stage") == moved_at
        assert lead["reached_at"]["mql"] == moved_at
        assert lead["reached_at"]["sql"] == moved_at
        assert instant(lead["reached_at"]["lead"]) < instant(moved_at)
        assert lead["reached_at"]["opportunity"] is None

    async def test_a_jump_to_customer_reaches_every_skipped_stage_then(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        lead = (await move_stage(client, sales.headers, lead_id, "customer")).json()
        at = lead["stage_changed_at"]
        assert {s: lead["reached_at"][s] for s in ("mql", "sql", "opportunity", "customer")} == {
            "mql": at, "sql": at, "opportunity": at, "customer": at,
        }  # fmt: skip
        assert lead["reached_at"]["evangelist"] is None
        assert stage_moves(lead) == [(None, "lead", "capture"), ("lead", "customer", "sales")]

    async def test_a_backward_move_is_refused_unless_asked_for(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        before = (await move_stage(client, sales.headers, lead_id, "opportunity")).json()
        response = await move_stage(client, sales.headers, lead_id, "mql")
        assert response.status_code == 422
        assert response.json()["type"] == "urn:inbound:problem:stage-regression"
        assert error_fields(response) == ["stage"]
        assert await get_lead(client, world, lead_id) == before

    async def test_an_allowed_backward_move_keeps_the_first_reached_times(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        ahead = (await move_stage(client, sales.headers, lead_id, "opportunity")).json()
        response = await move_stage(
            client, sales.headers, lead_id, "lead", allow_regression=True, reason="went cold"
        )
        assert response.status_code == 200, response.text
        back = response.json()
        assert back["stage"] == "lead"
        assert back["reached_at"] == ahead["reached_at"]
        assert timeline(back, "stage")[-1] == {
            "from": "opportunity", "to": "lead", "cause": "sales", "actor": sales.actor,
            "reason": "went cold",
        }  # fmt: skip
        again = (await move_stage(client, sales.headers, lead_id, "customer")).json()
        assert again["stage"] == "customer"
        assert {s: again["reached_at"][s] for s in ("lead", "mql", "sql", "opportunity")} == {
            s: ahead["reached_at"][s] for s in ("lead", "mql", "sql", "opportunity")
        }
        assert again["reached_at"]["customer"] == again["stage_changed_at"]
        assert instant(again["reached_at"]["customer"]) > instant(
            ahead["reached_at"]["opportunity"]
        )
        assert stage_moves(again)[1:] == [
            ("lead", "opportunity", "sales"),
            ("opportunity", "lead", "sales"),
            ("lead", "customer", "sales"),
        ]

    async def test_moving_to_the_current_stage_changes_nothing(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        before = (await move_stage(client, sales.headers, lead_id, "sql")).json()
        response = await move_stage(client, sales.headers, lead_id, "sql", reason="again")
        assert response.status_code == 200, response.text
        assert response.json() == before
        assert response.headers["etag"] == f'"{before["version"]}"'

    async def test_a_reader_may_not_move_a_lead(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        lead_id = await new_lead(client, world)
        reader = await make_key(Scope.LEADS_READ)
        assert (await move_stage(client, reader, lead_id, "sql")).status_code == 403
        assert (await get_lead(client, world, lead_id))["stage"] == "lead"

    async def test_an_unknown_lead_cannot_be_moved(
        self, client: httpx.AsyncClient, sales: SalesKey
    ) -> None:
        response = await move_stage(client, sales.headers, UNKNOWN_ID, "sql")
        assert response.status_code == 404
        assert response.json()["type"] == "urn:inbound:problem:lead-not-found"

    @pytest.mark.parametrize(
        "body",
        [
            {"stage": "prospect"},
            {"stage": "SQL"},
            {"stage": 3},
            {},
            {"stage": "sql", "allow_regression": "yes"},
            {"stage": "sql", "cause": "score"},
        ],
    )
    async def test_a_malformed_move_is_a_bad_request(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey, body: dict[str, Any]
    ) -> None:
        lead_id = await new_lead(client, world)
        response = await client.post(f"{LEADS}/{lead_id}/stage", json=body, headers=sales.headers)
        assert response.status_code == 400, response.text
        assert set(error_fields(response)) & {"stage", "allow_regression", "cause"}
        assert (await get_lead(client, world, lead_id))["stage"] == "lead"


class TestPersonaByHand:
    async def test_a_persona_assigned_by_slug_is_manual_and_sets_the_fit(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        response = await client.put(
            f"{LEADS}/{lead_id}/persona",
            json={"persona": "cfo", "reason": "told us on the phone"},
            headers=sales.headers,
        )
        assert response.status_code == 200, response.text
        lead = response.json()
        assert response.headers["etag"] == f'"{lead["version"]}"'
        assert (lead["persona"]["slug"], lead["persona"]["source"]) == ("cfo", "manual")
        assert lead["persona"]["confidence"] is None
        explanation = lead["persona_explanation"]
        assert explanation["persona"] == "cfo"
        assert explanation["reason"] == "told us on the phone"
        assert explanation["assigned_by"] == sales.actor
        # None of cfo's rules match a CIO: fit is the profile's completeness alone.
        assert (lead["fit"], lead["grade"]) == (0.15, "D")

    async def test_a_persona_may_be_named_by_id(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        cfo = (await client.get("/api/v1/personas/cfo", headers=world.admin)).json()
        lead_id = await new_lead(client, world)
        response = await client.put(
            f"{LEADS}/{lead_id}/persona", json={"persona": cfo["id"]}, headers=sales.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["persona"]["id"] == cfo["id"]
        assert response.json()["persona_explanation"]["reason"] == "assigned by hand"

    async def test_an_unknown_persona_or_lead_is_not_found(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await new_lead(client, world)
        response = await client.put(
            f"{LEADS}/{lead_id}/persona", json={"persona": "cto"}, headers=sales.headers
        )
        assert response.status_code == 404
        assert response.json()["type"] == "urn:inbound:problem:persona-not-found"
        assert (await get_lead(client, world, lead_id))["persona"]["slug"] == "cio"
        response = await client.put(
            f"{LEADS}/{UNKNOWN_ID}/persona", json={"persona": "cfo"}, headers=sales.headers
        )
        assert response.status_code == 404
        assert response.json()["type"] == "urn:inbound:problem:lead-not-found"

    async def test_a_reader_may_not_assign_or_clear_a_persona(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        lead_id = await new_lead(client, world)
        reader = await make_key(Scope.LEADS_READ)
        url = f"{LEADS}/{lead_id}/persona"
        assert (await client.put(url, json={"persona": "cfo"}, headers=reader)).status_code == 403
        assert (await client.delete(url, headers=reader)).status_code == 403

    async def test_a_manual_persona_sticks_across_captures(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await cfo_by_hand(client, world, sales)
        assert await new_lead(client, world, job_title="Group CIO") == lead_id
        lead = await get_lead(client, world, lead_id)
        assert (lead["persona"]["slug"], lead["persona"]["source"]) == ("cfo", "manual")
        assert lead["job_title"] == "Group CIO"

    async def test_clearing_maps_the_lead_automatically_at_once(
        self, client: httpx.AsyncClient, world: World, sales: SalesKey
    ) -> None:
        lead_id = await cfo_by_hand(client, world, sales)
        response = await client.delete(f"{LEADS}/{lead_id}/persona", headers=sales.headers)
        assert response.status_code == 204, response.text
        lead = await get_lead(client, world, lead_id)
        assert (lead["persona"]["slug"], lead["persona"]["source"]) == ("cio", "rules")
        assert lead["persona"]["confidence"] == 1.0
        assert lead["persona_explanation"]["persona"] == "cio"
        assert (lead["fit"], lead["grade"]) == (0.85, "A")
        assert (
            await client.delete(f"{LEADS}/{UNKNOWN_ID}/persona", headers=sales.headers)
        ).status_code == 404

    async def test_a_persona_by_hand_that_makes_the_grade_qualify_makes_an_mql(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sales: SalesKey
    ) -> None:
        # Half of chef's rules match: too little to beat cio's content, enough for grade B.
        chef_rules = [
            {"field": "job_title", "operator": "contains_any", "values": ["chef"]},
            {"field": "industry", "operator": "equals", "value": "Restaurants"},
        ]
        await make_persona(client, admin, "chef", rules=chef_rules)
        chef = {"job_title": "Chef", "company_size": None, "company": "Bistro"}
        lead_id = await new_lead(client, world, **chef)
        assert await new_lead(client, world, **chef) == lead_id
        lead = await get_lead(client, world, lead_id)
        assert (lead["persona"]["slug"], lead["grade"], lead["score"]) == ("cio", "D", 100.0)
        assert lead["stage"] == "lead"
        response = await client.put(
            f"{LEADS}/{lead_id}/persona", json={"persona": "chef"}, headers=sales.headers
        )
        assert response.status_code == 200, response.text
        lead = response.json()
        assert (lead["fit"], lead["grade"], lead["stage"]) == (0.5, "B", "mql")
        assert timeline(lead, "stage")[-1]["cause"] == "score"
        assert timeline(lead, "stage")[-1]["actor"] == sales.actor


class TestScoringThroughCaptures:
    async def test_every_capture_earns_points_and_a_ledger_row(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world, job_title="Chef")
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["score"] == 50.0
        assert timeline(lead, "score") == [
            {"kind": "form_capture", "points": 50.0, "capped": False,
             "capture_id": response.json()["capture_id"]},
        ]  # fmt: skip

    async def test_the_fourth_capture_in_a_day_earns_nothing_and_says_capped(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        for _ in range(4):
            lead_id = await new_lead(client, world, job_title="Chef")
        lead = await get_lead(client, world, lead_id)
        assert lead["score"] == 150.0
        ledger = timeline(lead, "score")
        assert [(e["points"], e["capped"]) for e in ledger] == [
            (50.0, False), (50.0, False), (50.0, False), (0.0, True),
        ]  # fmt: skip
        assert len({e["capture_id"] for e in ledger}) == 4

    async def test_a_capture_the_cap_cuts_short_earns_what_is_left(
        self, client: httpx.AsyncClient, world: World, admin: Headers
    ) -> None:
        await put_settings(
            client, admin, "scoring", {"activities": {"form_capture": {"points": 40, "cap": 100}}}
        )
        for _ in range(3):
            lead_id = await new_lead(client, world, job_title="Chef")
        ledger = timeline(await get_lead(client, world, lead_id), "score")
        assert [(e["points"], e["capped"]) for e in ledger] == [
            (40.0, False), (40.0, False), (20.0, True),
        ]  # fmt: skip

    async def test_the_shown_score_halves_after_a_half_life(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        lead_id = await new_lead(client, world, job_title="Chef")
        lead = await get_lead(client, world, lead_id)
        assert lead["score"] == 50.0
        month_ago = utcnow() - timedelta(days=30)
        await db.execute(
            update(CONTACTS).where(CONTACTS.c.id == uuid.UUID(lead_id)).values(score_at=month_ago)
        )
        await db.commit()
        assert (await get_lead(client, world, lead_id))["score"] == 25.0

    async def test_a_capture_adds_its_points_to_the_decayed_score(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        lead_id = await new_lead(client, world, job_title="Chef")
        two_months_ago = utcnow() - timedelta(days=60)
        await set_contact(db, lead_id, score_at=two_months_ago)
        await new_lead(client, world, job_title="Chef")
        assert (await get_lead(client, world, lead_id))["score"] == 62.5

    async def test_two_captures_of_a_well_fitting_lead_make_an_mql(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        lead_id = await new_lead(client, world)
        assert (await get_lead(client, world, lead_id))["stage"] == "lead"
        second = await capture(client, world, **WELL_FITTING)
        lead = await get_lead(client, world, lead_id)
        assert (lead["grade"], lead["score"], lead["stage"]) == ("A", 100.0, "mql")
        assert stage_moves(lead) == [(None, "lead", "capture"), ("lead", "mql", "score")]
        promotion = lead["timeline"][0]
        assert promotion["type"] == "stage"
        assert lead["reached_at"]["mql"] == promotion["at"] == lead["stage_changed_at"]
        captured_at = next(e["at"] for e in lead["timeline"] if e["type"] == "capture")
        assert promotion["at"] == captured_at
        assert second.json()["capture_id"] == timeline(lead, "score")[-1]["capture_id"]

    async def test_a_score_just_below_the_threshold_stays_a_lead(
        self, client: httpx.AsyncClient, world: World, admin: Headers
    ) -> None:
        await put_settings(
            client, admin, "scoring", {"activities": {"form_capture": {"points": 49.995}}}
        )
        lead_id = await new_lead(client, world)
        await new_lead(client, world)
        lead = await get_lead(client, world, lead_id)
        assert (lead["grade"], lead["score"], lead["stage"]) == ("A", 99.99, "lead")
        assert lead["reached_at"]["mql"] is None

    async def test_grade_b_exactly_qualifies(self, client: httpx.AsyncClient, world: World) -> None:
        # Half the rules and half the profile: fit 0.7 * 0.5 + 0.3 * 0.5 = 0.5.
        edge = {"company_size": None, "company": "Acme"}
        lead_id = await new_lead(client, world, **edge)
        await new_lead(client, world, **edge)
        lead = await get_lead(client, world, lead_id)
        assert (lead["fit"], lead["grade"], lead["stage"]) == (0.5, "B", "mql")

    async def test_a_fit_just_below_grade_b_stays_a_lead(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        # Half the rules and three profile fields of eight: fit 0.4625.
        below = {"company_size": None}
        lead_id = await new_lead(client, world, **below)
        await new_lead(client, world, **below)
        lead = await get_lead(client, world, lead_id)
        assert (lead["fit"], lead["grade"], lead["score"]) == (0.4625, "C", 100.0)
        assert lead["stage"] == "lead"

    async def test_an_older_capture_counts_less_for_the_persona(
        self, client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
    ) -> None:
        await make_asset(
            client, admin, slug="budget-guide", title="Budget guide",
            personas=[{"persona": "cfo", "relevance": 3}],
        )  # fmt: skip
        await put_settings(client, admin, "mapping", {"rules_weight": 0, "content_weight": 1})
        lead_id = await new_lead(client, world, job_title="Chef")
        ninety_days_ago = utcnow() - timedelta(days=90)
        await set_contact(db, lead_id, touches_at=ninety_days_ago)
        await new_lead(client, world, job_title="Chef", asset="budget-guide")
        lead = await get_lead(client, world, lead_id)
        assert (lead["persona"]["slug"], lead["persona"]["source"]) == ("cfo", "content")
        candidates = {c["persona"]: c for c in lead["persona_explanation"]["candidates"]}
        assert candidates["cfo"]["assets"] == [
            {"asset": "budget-guide", "relevance": 3, "weight": 0.6667}
        ]
        assert candidates["cio"]["assets"] == [
            {"asset": "scoring-ebook", "relevance": 3, "weight": 0.3333}
        ]
