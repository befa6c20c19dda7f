"""Background re-mapping: when personas, asset tags or settings change, contacts follow; manual
personas and stages stay."""

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.leads.models import RemapRun
from inbound.leads.qualification.remap import remap_if_changed
from tests.conftest import Headers
from tests.leads.helpers import put_settings, timeline
from tests.leads.remapping.helpers import (
    HEAD_OF_IT_RULES,
    PERSONAS,
    Sessions,
    change_rules,
    new_lead,
    settled,
)
from tests.support.world import LEADS, World, get_lead


class TestWhenToRun:
    async def test_the_first_pass_checks_everyone_and_a_second_has_nothing_to_do(
        self, client: httpx.AsyncClient, world: World, sessionmaker: Sessions
    ) -> None:
        await new_lead(client, world, "ana@example.com", "CIO")
        await new_lead(client, world, "bob@example.com", "Chef")
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert (run.checked, run.changed) == (2, 0)
        assert run.finished_at is not None
        assert await remap_if_changed(sessionmaker) is None

    async def test_a_forced_pass_over_mapped_contacts_changes_nothing(
        self, client: httpx.AsyncClient, world: World, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "CIO")
        await new_lead(client, world, "bob@example.com", "Chef")
        before = await get_lead(client, world, ana)
        await settled(sessionmaker)
        run = await remap_if_changed(sessionmaker, force=True)
        assert run is not None
        assert (run.checked, run.changed) == (2, 0)
        assert await get_lead(client, world, ana) == before

    async def test_new_contacts_alone_start_no_pass(
        self, client: httpx.AsyncClient, world: World, sessionmaker: Sessions
    ) -> None:
        await settled(sessionmaker)
        await new_lead(client, world, "ana@example.com", "CIO")
        assert await remap_if_changed(sessionmaker) is None

    async def test_no_pass_starts_while_another_one_is_alive(
        self, client: httpx.AsyncClient, world: World, sessionmaker: Sessions, db: AsyncSession
    ) -> None:
        await new_lead(client, world, "ana@example.com", "CIO")
        db.add(RemapRun(fingerprint="elsewhere", heartbeat_at=utcnow() - timedelta(seconds=30)))
        await db.commit()
        assert await remap_if_changed(sessionmaker) is None
        assert await remap_if_changed(sessionmaker, force=True) is None

    async def test_a_pass_abandoned_long_ago_does_not_block(
        self, client: httpx.AsyncClient, world: World, sessionmaker: Sessions, db: AsyncSession
    ) -> None:
        await new_lead(client, world, "ana@example.com", "CIO")
        db.add(RemapRun(fingerprint="crashed", heartbeat_at=utcnow() - timedelta(hours=1)))
        await db.commit()
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert run.checked == 1


class TestPersonaRules:
    async def test_changed_rules_re_map_the_contacts_they_now_match(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "Head of IT")
        bob = await new_lead(client, world, "bob@example.com", "CFO")
        await settled(sessionmaker)
        before = await get_lead(client, world, ana)
        assert (before["persona"], before["grade"]) == (None, "D")
        bob_before = await get_lead(client, world, bob)
        await change_rules(client, admin, "cio", HEAD_OF_IT_RULES)
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert (run.checked, run.changed) == (2, 1)
        after = await get_lead(client, world, ana)
        assert (after["persona"]["slug"], after["persona"]["source"]) == ("cio", "rules")
        assert after["persona"]["confidence"] == 0.6
        assert (after["fit"], after["grade"]) == (0.85, "A")
        assert after["persona_explanation"]["persona"] == "cio"
        [candidate] = after["persona_explanation"]["candidates"]
        assert candidate["matched_rules"] == [
            {"field": "job_title", "operator": "contains_any", "weight": 1.0,
             "value": "Head of IT"},
        ]  # fmt: skip
        assert after["version"] == before["version"] + 1
        assert after["stage"] == "lead"
        assert await get_lead(client, world, bob) == bob_before
        assert await remap_if_changed(sessionmaker) is None

    async def test_rules_that_stop_matching_take_the_persona_away(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "CIO")
        await settled(sessionmaker)
        assert (await get_lead(client, world, ana))["persona"]["slug"] == "cio"
        await change_rules(
            client, admin, "cio", [{"field": "job_title", "operator": "equals", "value": "CTO"}]
        )
        await settled(sessionmaker)
        lead = await get_lead(client, world, ana)
        assert lead["persona"] is None
        assert lead["persona_explanation"]["reason"] == "no persona reached the minimum confidence"
        assert (lead["fit"], lead["grade"]) == (0.15, "D")

    async def test_an_archived_persona_leaves_its_contacts(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "CIO")
        await settled(sessionmaker)
        response = await client.post(f"{PERSONAS}/cio/archive", headers=admin)
        assert response.status_code == 200, response.text
        await settled(sessionmaker)
        assert (await get_lead(client, world, ana))["persona"] is None


class TestAssetTags:
    async def test_new_tags_re_map_the_contacts_who_captured_the_asset(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "Chef")
        await settled(sessionmaker)
        assert (await get_lead(client, world, ana))["persona"] is None
        response = await client.put(
            "/api/v1/assets/scoring-ebook/personas",
            json={"personas": [{"persona": "cfo", "relevance": 3}]},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert (run.checked, run.changed) == (1, 1)
        lead = await get_lead(client, world, ana)
        assert (lead["persona"]["slug"], lead["persona"]["source"]) == ("cfo", "content")
        assert lead["persona"]["confidence"] == 0.4
        [candidate] = lead["persona_explanation"]["candidates"]
        assert candidate["assets"] == [{"asset": "scoring-ebook", "relevance": 3, "weight": 1.0}]
        # cfo's rules do not match a chef: the fit is the profile's completeness alone.
        assert (lead["fit"], lead["grade"]) == (0.15, "D")


class TestSettings:
    async def test_new_mapping_settings_re_map_everyone(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "CIO")
        await settled(sessionmaker)
        await put_settings(client, admin, "mapping", {"min_confidence": 0.7})
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert run.changed == 1
        lead = await get_lead(client, world, ana)
        assert lead["persona"] is None
        assert lead["persona_explanation"]["min_confidence"] == 0.7

    async def test_new_grade_thresholds_re_grade_everyone(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "CIO")
        await settled(sessionmaker)
        await put_settings(client, admin, "scoring", {"grades": {"A": 0.9, "B": 0.8, "C": 0.1}})
        await settled(sessionmaker)
        lead = await get_lead(client, world, ana)
        assert (lead["fit"], lead["grade"]) == (0.85, "B")

    async def test_lower_mql_thresholds_promote_the_leads_that_now_reach_them(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "CIO")
        await settled(sessionmaker)
        lead = await get_lead(client, world, ana)
        assert (lead["grade"], lead["score"], lead["stage"]) == ("A", 50.0, "lead")
        await put_settings(client, admin, "scoring", {"mql": {"min_score": 50}})
        await settled(sessionmaker)
        lead = await get_lead(client, world, ana)
        assert lead["stage"] == "mql"
        assert timeline(lead, "stage")[-1]["cause"] == "score"


class TestManualAndStages:
    async def test_a_persona_assigned_by_hand_is_kept(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "Head of IT")
        response = await client.put(
            f"{LEADS}/{ana}/persona", json={"persona": "cfo"}, headers=admin
        )
        assert response.status_code == 200, response.text
        await settled(sessionmaker)
        await change_rules(client, admin, "cio", HEAD_OF_IT_RULES)
        await change_rules(
            client, admin, "cfo", [{"field": "job_title", "operator": "contains_any",
                                    "values": ["head of"]}],
        )  # fmt: skip
        await settled(sessionmaker)
        lead = await get_lead(client, world, ana)
        assert (lead["persona"]["slug"], lead["persona"]["source"]) == ("cfo", "manual")
        assert lead["persona_explanation"]["reason"] == "assigned by hand"
        # The hand-picked persona's new rules now match: fit follows them.
        assert (lead["fit"], lead["grade"]) == (0.85, "A")

    async def test_a_lead_whose_grade_now_qualifies_becomes_an_mql(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "Head of IT", captures=2)
        await settled(sessionmaker)
        before = await get_lead(client, world, ana)
        assert (before["grade"], before["score"], before["stage"]) == ("D", 100.0, "lead")
        await change_rules(client, admin, "cio", HEAD_OF_IT_RULES)
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert run.changed == 1
        lead = await get_lead(client, world, ana)
        assert (lead["persona"]["slug"], lead["grade"], lead["stage"]) == ("cio", "A", "mql")
        promotion = timeline(lead, "stage")[-1]
        assert (promotion["from"], promotion["to"]) == ("lead", "mql")
        assert (promotion["cause"], promotion["actor"]) == ("score", "remap")
        assert lead["reached_at"]["mql"] == lead["stage_changed_at"]
        assert lead["version"] == before["version"] + 1

    async def test_a_contact_past_mql_keeps_its_stage(
        self, client: httpx.AsyncClient, world: World, admin: Headers, sessionmaker: Sessions
    ) -> None:
        ana = await new_lead(client, world, "ana@example.com", "Head of IT", captures=2)
        response = await client.post(
            f"{LEADS}/{ana}/stage", json={"stage": "customer"}, headers=admin
        )
        assert response.status_code == 200, response.text
        await settled(sessionmaker)
        await change_rules(client, admin, "cio", HEAD_OF_IT_RULES)
        await settled(sessionmaker)
        lead = await get_lead(client, world, ana)
        assert (lead["grade"], lead["stage"]) == ("A", "customer")
        assert [d["to"] for d in timeline(lead, "stage")] == ["lead", "customer"]
