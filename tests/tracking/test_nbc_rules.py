"""Pinned rules (`/api/v1/nbc/rules`) and the weights document (`/api/v1/settings/nbc`)."""

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import assert_names, assert_problem, error_fields
from tests.tracking.nbc_world import RULES, SETTINGS, NbcWorld, make_nbc_world


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> NbcWorld:
    return await make_nbc_world(client, admin)


class TestRulesCrud:
    async def test_create_read_update_delete(
        self, client: httpx.AsyncClient, world: NbcWorld, editor: Headers, reader: Headers
    ) -> None:
        body = {"asset": "case-study", "slot": "sidebar", "persona": "cfo",
                "stages": ["mql", "lead", "lead"], "campaign": "spring",
                "viewed_asset": world.assets["blog-crm"], "priority": 7}  # fmt: skip
        created = await client.post(RULES, json=body, headers=editor)
        assert created.status_code == 201, created.text
        rule = created.json()
        assert created.headers["location"] == f"{RULES}/{rule['id']}"
        assert rule["asset_id"] == world.assets["case-study"]
        assert rule["persona_id"] == world.personas["cfo"]
        assert rule["viewed_asset_id"] == world.assets["blog-crm"]
        assert rule["stages"] == ["lead", "mql"]
        assert (rule["slot"], rule["campaign"], rule["priority"], rule["active"]) == (
            "sidebar", "spring", 7, True
        )  # fmt: skip
        got = await client.get(f"{RULES}/{rule['id']}", headers=reader)
        assert got.status_code == 200
        assert got.json() == rule
        listed = await client.get(RULES, headers=reader)
        assert [r["id"] for r in listed.json()["items"]] == [rule["id"]]
        stale = await client.patch(
            f"{RULES}/{rule['id']}", json={"priority": 1}, headers={**editor, "If-Match": '"9"'}
        )
        assert stale.status_code == 412
        patched = await client.patch(
            f"{RULES}/{rule['id']}", json={"persona": None, "slot": None}, headers=editor
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["persona_id"], patched.json()["slot"]) == (None, None)
        assert patched.headers["etag"] == '"2"'
        assert (await client.delete(f"{RULES}/{rule['id']}", headers=editor)).status_code == 204
        assert (await client.get(f"{RULES}/{rule['id']}", headers=reader)).status_code == 404

    async def test_scopes(
        self, client: httpx.AsyncClient, world: NbcWorld, reader: Headers
    ) -> None:
        refused = await client.post(RULES, json={"asset": "case-study"}, headers=reader)
        assert refused.status_code == 403
        assert (await client.get(RULES)).status_code == 401
        site = world.site.site_headers
        assert (await client.get(RULES, headers=site)).status_code in (401, 403)


class TestRuleValidation:
    @pytest.mark.parametrize(
        ("body", "field", "status"),
        [({}, "asset", 400),
         ({"asset": "case-study", "stages": ["visitor"]}, "stages[0]", 400),
         ({"asset": "case-study", "priority": 1001}, "priority", 400),
         ({"asset": "case-study", "priority": "high"}, "priority", 400),
         ({"asset": "case-study", "slot": "side bar"}, "slot", 400),
         ({"asset": "case-study", "campaign": "x" * 201}, "campaign", 400),
         ({"asset": "case-study", "campaign": "a\u0000b"}, "campaign", 400),
         ({"asset": "case-study", "campaign": " "}, "campaign", 400),
         ({"asset": "case\u0000study"}, "asset", 400),
         ({"asset": "case-study", "persona": "\u0000"}, "persona", 400),
         ({"asset": "case-study", "viewed_asset": "a\u0000"}, "viewed_asset", 400),
         ({"asset": "case-study", "colour": "red"}, "colour", 400),
         ({"asset": "no-such-asset"}, "asset", 422),
         ({"asset": "case-study", "persona": "no-such-persona"}, "persona", 422),
         ({"asset": "case-study", "viewed_asset": str(uuid.uuid4())}, "viewed_asset", 422)],
    )  # fmt: skip
    async def test_bad_rules_are_refused_naming_the_field(
        self,
        client: httpx.AsyncClient,
        world: NbcWorld,
        editor: Headers,
        body: dict[str, Any],
        field: str,
        status: int,
    ) -> None:
        response = await client.post(RULES, json=body, headers=editor)
        assert_problem(response, status)
        assert field in error_fields(response)

    async def test_an_archived_asset_cannot_be_pinned(
        self, client: httpx.AsyncClient, world: NbcWorld, editor: Headers, admin: Headers
    ) -> None:
        await client.post("/api/v1/assets/onboarding/archive", headers=admin)
        response = await client.post(RULES, json={"asset": "onboarding"}, headers=editor)
        assert response.status_code == 422
        assert "archived" in response.json()["detail"]

    async def test_a_patch_is_checked_too(
        self, client: httpx.AsyncClient, world: NbcWorld, editor: Headers
    ) -> None:
        rule = (await client.post(RULES, json={"asset": "case-study"}, headers=editor)).json()
        for body, field in (({"asset": "nope"}, "asset"), ({"asset": None}, "asset"),
                            ({"priority": -1001}, "priority"),
                            ({"campaign": "a\u0000"}, "campaign"),
                            ({"persona": "\u0000"}, "persona")):  # fmt: skip
            response = await client.patch(f"{RULES}/{rule['id']}", json=body, headers=editor)
            assert response.status_code in (400, 422), response.text
            assert field in error_fields(response)
        missing = await client.patch(f"{RULES}/{uuid.uuid4()}", json={}, headers=editor)
        assert missing.status_code == 404


class TestSettings:
    async def test_defaults_then_replace(self, client: httpx.AsyncClient, admin: Headers) -> None:
        current = await client.get(SETTINGS, headers=admin)
        assert current.status_code == 200
        assert current.json() == {"persona_fit": 1.0, "topic_affinity": 1.0,
                                  "stage_progression": 0.6, "covisitation": 0.8,
                                  "exploration": 0.3, "topic_half_life_days": 14.0}  # fmt: skip
        replaced = await client.put(SETTINGS, json={"covisitation": 2}, headers=admin)
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["covisitation"] == 2
        assert replaced.json()["persona_fit"] == 1.0
        assert (await client.get(SETTINGS, headers=admin)).headers["etag"] == '"1"'

    async def test_weights_change_the_next_answer(
        self, client: httpx.AsyncClient, world: NbcWorld, admin: Headers
    ) -> None:
        params: dict[str, str | int] = {"asset": "blog-seo", "k": 1}
        first = await client.get("/api/v1/next", params=params, headers=world.site.site_headers)
        assert first.json()["items"][0]["components"]["topic_affinity"] > 0
        await client.put(SETTINGS, json={"topic_affinity": 0, "exploration": 0}, headers=admin)
        second = await client.get("/api/v1/next", params=params, headers=world.site.site_headers)
        assert second.json()["items"][0]["components"]["topic_affinity"] == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"persona_fit": -1}, "persona_fit"), ({"exploration": "lots"}, "exploration"),
         ({"topic_half_life_days": 0}, "topic_half_life_days"), ({"other": 1}, "other")],
    )  # fmt: skip
    async def test_bad_settings_are_refused(
        self, client: httpx.AsyncClient, admin: Headers, body: dict[str, Any], field: str
    ) -> None:
        response = await client.put(SETTINGS, json=body, headers=admin)
        assert_names(response, field)

    async def test_only_admins(self, client: httpx.AsyncClient, editor: Headers) -> None:
        assert (await client.get(SETTINGS, headers=editor)).status_code == 403
        assert (await client.put(SETTINGS, json={}, headers=editor)).status_code == 403
