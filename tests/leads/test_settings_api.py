"""`/api/v1/settings/scoring` and `/mapping`: whole documents an admin reads and replaces."""

from typing import Any

import httpx
import pytest

from inbound.auth.scopes import Scope
from inbound.leads.qualification.settings import MappingSettings, ScoringSettings
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import SETTINGS, put_settings, timeline
from tests.problems import assert_names, error_fields
from tests.support.world import (
    capture,
    get_lead,
    make_asset,
    make_ebook_world,
    make_persona,
    make_world,
)

SCORING = f"{SETTINGS}/scoring"
MAPPING = f"{SETTINGS}/mapping"
SCORING_DEFAULTS: dict[str, Any] = {
    "activities": {
        "form_capture": {"points": 50.0, "cap": 150.0, "cap_period_days": 1.0},
        "asset_download": {"points": 3.0, "cap": 30.0, "cap_period_days": 1.0},
        "page_view": {"points": 1.0, "cap": 20.0, "cap_period_days": 1.0},
        "content_view": {"points": 3.0, "cap": 30.0, "cap_period_days": 1.0},
    },
    "half_life_days": 30.0,
    "rule_strength_weight": 0.7,
    "completeness_weight": 0.3,
    "grades": {"A": 0.75, "B": 0.5, "C": 0.25},
    "mql": {"min_grade": "B", "min_score": 100.0},
}
CAPTURE_POINTS = "activities.form_capture.points"
MAPPING_DEFAULTS: dict[str, Any] = {
    "rules_weight": 0.6,
    "content_weight": 0.4,
    "min_confidence": 0.3,
    "content_half_life_days": 90.0,
}


class TestDefaults:
    @pytest.mark.parametrize(
        ("url", "defaults"), [(SCORING, SCORING_DEFAULTS), (MAPPING, MAPPING_DEFAULTS)]
    )
    async def test_before_anything_is_set_the_defaults_read_with_an_etag(
        self, client: httpx.AsyncClient, admin: Headers, url: str, defaults: dict[str, Any]
    ) -> None:
        response = await client.get(url, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json() == defaults
        assert response.headers["etag"] == '"0"'

    def test_the_documented_defaults_are_the_models_defaults(self) -> None:
        assert ScoringSettings().model_dump(mode="json") == SCORING_DEFAULTS
        assert MappingSettings().model_dump(mode="json") == MAPPING_DEFAULTS


class TestAccess:
    @pytest.mark.parametrize("url", [SCORING, MAPPING])
    async def test_only_an_admin_may_read_or_replace_settings(
        self, client: httpx.AsyncClient, make_key: KeyMaker, url: str
    ) -> None:
        others = await make_key(
            Scope.LEADS_WRITE, Scope.CONTENT_WRITE, Scope.REPORTS_READ, Scope.INGEST
        )
        assert (await client.get(url, headers=others)).status_code == 403
        assert (await client.put(url, json={}, headers=others)).status_code == 403
        assert (await client.get(url)).status_code == 401
        assert (await client.put(url, json={})).status_code == 401

    async def test_a_refused_replace_changes_nothing(
        self, client: httpx.AsyncClient, admin: Headers, make_key: KeyMaker
    ) -> None:
        others = await make_key(Scope.LEADS_WRITE)
        await client.put(SCORING, json={"half_life_days": 2}, headers=others)
        response = await client.get(SCORING, headers=admin)
        assert (response.json(), response.headers["etag"]) == (SCORING_DEFAULTS, '"0"')


class TestReplace:
    async def test_a_replace_stores_the_whole_document_and_moves_the_etag(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.put(
            SCORING, json={"half_life_days": 7, "mql": {"min_score": 80}}, headers=admin
        )
        assert response.status_code == 200, response.text
        expected = SCORING_DEFAULTS | {
            "half_life_days": 7.0, "mql": {"min_grade": "B", "min_score": 80.0},
        }  # fmt: skip
        assert response.json() == expected
        assert response.headers["etag"] == '"1"'
        read = await client.get(SCORING, headers=admin)
        assert (read.json(), read.headers["etag"]) == (expected, '"1"')

    async def test_what_a_replace_leaves_out_goes_back_to_its_default(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        await put_settings(client, admin, "mapping", {"min_confidence": 0.5, "rules_weight": 1})
        response = await client.put(MAPPING, json={"content_weight": 0.1}, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json() == MAPPING_DEFAULTS | {"content_weight": 0.1}
        assert response.headers["etag"] == '"2"'
        assert (await client.get(MAPPING, headers=admin)).json() == response.json()

    async def test_the_two_documents_are_versioned_apart(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        await put_settings(client, admin, "scoring", {})
        await put_settings(client, admin, "scoring", {})
        assert (await client.get(SCORING, headers=admin)).headers["etag"] == '"2"'
        assert (await client.get(MAPPING, headers=admin)).headers["etag"] == '"0"'

    @pytest.mark.parametrize("url", [SCORING, MAPPING])
    async def test_if_match_with_the_current_etag_replaces(
        self, client: httpx.AsyncClient, admin: Headers, url: str
    ) -> None:
        first = await client.put(url, json={}, headers=admin | {"If-Match": '"0"'})
        assert first.status_code == 200, first.text
        second = await client.put(url, json={}, headers=admin | {"If-Match": first.headers["etag"]})
        assert second.status_code == 200, second.text
        assert second.headers["etag"] == '"2"'

    @pytest.mark.parametrize("url", [SCORING, MAPPING])
    async def test_if_match_with_a_stale_etag_is_refused(
        self, client: httpx.AsyncClient, admin: Headers, url: str
    ) -> None:
        assert (await client.put(url, json={}, headers=admin)).status_code == 200
        response = await client.put(
            url, json={"half_life_days": 5} if url == SCORING else {"min_confidence": 0.9},
            headers=admin | {"If-Match": '"0"'},
        )  # fmt: skip
        assert response.status_code == 412
        assert response.json()["type"] == "urn:inbound:problem:precondition-failed"
        read = await client.get(url, headers=admin)
        assert read.headers["etag"] == '"1"'
        assert read.json() == (SCORING_DEFAULTS if url == SCORING else MAPPING_DEFAULTS)


class TestRefusals:
    @pytest.mark.parametrize(
        ("url", "body", "field"),
        [
            (SCORING, {"grades": {"A": 0.4, "B": 0.5, "C": 0.1}}, "grades"),
            (SCORING, {"grades": {"C": 0.6}}, "grades"),
            (
                SCORING,
                {"rule_strength_weight": 0, "completeness_weight": 0},
                "rule_strength_weight",
            ),
            (MAPPING, {"rules_weight": 0, "content_weight": 0}, "rules_weight"),
        ],
    )
    async def test_contradictory_settings_are_unprocessable_and_name_the_field(
        self, client: httpx.AsyncClient, admin: Headers, url: str, body: dict[str, Any], field: str
    ) -> None:
        response = await client.put(url, json=body, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["type"] == "urn:inbound:problem:inconsistent-settings"
        assert error_fields(response) == [field]
        assert (await client.get(url, headers=admin)).headers["etag"] == '"0"'

    @pytest.mark.parametrize(
        ("url", "body", "field"),
        [
            (SCORING, {"half_life_days": "30"}, "half_life_days"),
            (SCORING, {"half_life_days": 0}, "half_life_days"),
            (SCORING, {"rule_strength_weight": 1.5}, "rule_strength_weight"),
            (SCORING, {"mql": {"min_grade": "E"}}, "mql.min_grade"),
            (SCORING, {"mql": {"min_score": "100"}}, "mql.min_score"),
            (SCORING, {"activities": {"form_capture": {"cap": 10}}}, CAPTURE_POINTS),
            (SCORING, {"activities": {"form_capture": {"points": True}}}, CAPTURE_POINTS),
            (SCORING, {"activities": {"webinar": {"points": 5}}}, "activities.webinar"),
            (SCORING, {"grades": ["A"]}, "grades"),
            (MAPPING, {"min_confidence": None}, "min_confidence"),
            (MAPPING, {"content_weight": "0.4"}, "content_weight"),
            (MAPPING, {"min_confidence": -0.1}, "min_confidence"),
            (MAPPING, {"half_life_days": 30}, "half_life_days"),
        ],
    )  # fmt: skip
    async def test_wrong_types_and_values_are_a_bad_request(
        self, client: httpx.AsyncClient, admin: Headers, url: str, body: dict[str, Any], field: str
    ) -> None:
        response = await client.put(url, json=body, headers=admin)
        assert_names(response, field)
        assert (await client.get(url, headers=admin)).headers["etag"] == '"0"'

    @pytest.mark.parametrize("body", [[], "scoring", 7])
    async def test_a_body_that_is_no_document_is_a_bad_request(
        self, client: httpx.AsyncClient, admin: Headers, body: Any
    ) -> None:
        assert (await client.put(SCORING, json=body, headers=admin)).status_code == 400


class TestEffect:
    async def test_new_points_change_what_the_next_capture_earns(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        world = await make_ebook_world(client, admin)
        first = await capture(client, world)
        assert first.status_code == 201, first.text
        await put_settings(
            client, admin, "scoring", {"activities": {"form_capture": {"points": 7}}}
        )
        await capture(client, world)
        lead = await get_lead(client, world, first.json()["contact_id"])
        assert [e["points"] for e in timeline(lead, "score")] == [50.0, 7.0]
        assert lead["score"] == 57.0

    async def test_a_new_half_life_changes_the_shown_score_at_once(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        world = await make_ebook_world(client, admin)
        contact_id = (await capture(client, world)).json()["contact_id"]
        await put_settings(client, admin, "scoring", {"half_life_days": 0.0001})
        assert (await get_lead(client, world, contact_id))["score"] < 50.0

    async def test_a_higher_minimum_confidence_leaves_the_next_capture_without_persona(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        world = await make_world(client, admin)
        rules = [
            {"field": "job_title", "operator": "contains_any", "values": ["CIO"]},
            {"field": "country", "operator": "equals", "value": "DE"},
        ]
        await make_persona(client, admin, "cio", rules=rules)
        await make_asset(client, admin)
        await put_settings(client, admin, "mapping", {"min_confidence": 0.5})
        contact_id = (await capture(client, world, job_title="CIO")).json()["contact_id"]
        lead = await get_lead(client, world, contact_id)
        assert lead["persona"] is None
        assert lead["persona_explanation"]["reason"] == "no persona reached the minimum confidence"
        assert lead["persona_explanation"]["min_confidence"] == 0.5
        await put_settings(client, admin, "mapping", {"min_confidence": 0.2})
        await capture(client, world, job_title="CIO")
        assert (await get_lead(client, world, contact_id))["persona"]["slug"] == "cio"
