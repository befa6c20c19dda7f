"""`/api/v1/leads/{id}`: setting its persona by hand; and how captures score it and make it
an MQL."""

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.leads.repository import CONTACTS
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import put_settings, set_contact, timeline
from tests.leads.lead_api.helpers import UNKNOWN_ID, WELL_FITTING, SalesKey, new_lead, stage_moves
from tests.support.world import LEADS, World, capture, get_lead, make_asset, make_persona


async def cfo_by_hand(client: httpx.AsyncClient, world: World, sales: "SalesKey") -> str:
    """A new lead whose persona sales set to `cfo` by hand; its id."""
    lead_id = await new_lead(client, world)
    url = f"{LEADS}/{lead_id}/persona"
    assert (await client.put(url, json={"persona": "cfo"}, headers=sales.headers)).is_success
    return lead_id


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
