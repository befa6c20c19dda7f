"""`/api/v1/leads/{id}`: reading a lead and moving its stage."""

from typing import Any

import httpx
import pytest

from inbound.auth.scopes import Scope
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import instant, move_stage, timeline
from tests.leads.lead_api.helpers import UNKNOWN_ID, SalesKey, new_lead, stage_moves
from tests.problems import error_fields
from tests.support.world import LEADS, World, get_lead


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
