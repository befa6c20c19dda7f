"""The demo history: internally consistent, persona-dependent, repeatable, and loadable through
`inbound demo` into a database whose API and reports then show it."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.demo import DatabaseNotEmpty, fill_demo
from inbound.demo.catalog import ASSETS, PERSONAS
from inbound.demo.history import Batch, Catalog, History
from inbound.demo.load import IDENTITIES
from inbound.leads.repository import CAPTURES, CONTACTS, STAGE_CHANGES
from inbound.leads.stages import STAGES
from inbound.surveys.answer_sql import ANSWERS, CASES, RESPONDENTS
from inbound.surveys.follow_up import is_negative
from inbound.tracking.repository import EVENTS
from tests.cli.helpers import run_async
from tests.conftest import Headers

ORDER = [stage.value for stage in STAGES]
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def catalog() -> Catalog:
    return Catalog(
        site_id=uuid.uuid4(),
        personas={p.slug: uuid.uuid4() for p in PERSONAS},
        assets={a.slug: uuid.uuid4() for a in ASSETS},
    )


def generated(
    count: int, seed: int = 7, the_catalog: Catalog | None = None, *, behaviour: bool = False
) -> Batch:
    whole = Batch()
    history = History(the_catalog or catalog(), now=NOW, days=365, seed=seed,
                      behaviour=behaviour)  # fmt: skip
    for batch in history.batches(count, size=500):
        for name in ("contacts", "captures", "stage_changes", "score_events"):
            getattr(whole, name).extend(getattr(batch, name))
        whole.behaviour.events.extend(batch.behaviour.events)
        whole.behaviour.identities.extend(batch.behaviour.identities)
    return whole


@pytest.fixture(scope="module")
def history() -> Batch:
    return generated(3000)


def by_contact(rows: list[dict[str, Any]]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row["contact_id"]].append(row)
    return found


class TestTheHistory:
    def test_stage_times_move_forward_and_match_the_stage_changes(self, history: Batch) -> None:
        changes = by_contact(history.stage_changes)
        for contact in history.contacts:
            reached = [(s, contact[f"{s}_at"]) for s in ORDER if contact.get(f"{s}_at")]
            times: list[datetime] = [when for _, when in reached]
            assert times == sorted(times), contact["email"]
            assert contact["stage"] == reached[-1][0]
            moves = sorted(changes[contact["id"]], key=lambda c: c["changed_at"])
            assert [m["to_stage"] for m in moves][-1] == contact["stage"]
            for move in moves:
                assert contact[f"{move['to_stage']}_at"] == move["changed_at"]
            # A jump reaches the stages it skipped at its own time.
            for move in moves:
                if move["from_stage"]:
                    skipped = ORDER[
                        ORDER.index(move["from_stage"]) + 1 : ORDER.index(move["to_stage"])
                    ]
                    assert all(contact[f"{s}_at"] == move["changed_at"] for s in skipped)
            assert all(when <= NOW for when in times)

    def test_some_contacts_jump_over_stages(self, history: Batch) -> None:
        jumps = [m for m in history.stage_changes if m["from_stage"]
                 and ORDER.index(m["to_stage"]) - ORDER.index(m["from_stage"]) > 1]  # fmt: skip
        assert jumps

    def test_every_contact_arrived_through_its_first_capture(self, history: Batch) -> None:
        captures = by_contact(history.captures)
        scores = by_contact(history.score_events)
        for contact in history.contacts:
            taken = sorted(captures[contact["id"]], key=lambda c: c["created_at"])
            assert taken, contact["email"]
            assert contact["created_at"] == taken[0]["created_at"]
            assert contact["first_asset_id"] == taken[0]["asset_id"]
            assert len(scores[contact["id"]]) == len(taken)
            assert {s["capture_id"] for s in scores[contact["id"]]} == {c["id"] for c in taken}

    def test_emails_and_ids_are_unique(self, history: Batch) -> None:
        assert len({c["email"] for c in history.contacts}) == len(history.contacts)
        ids = [row["id"] for name in ("contacts", "captures", "stage_changes", "score_events")
               for row in getattr(history, name)]  # fmt: skip
        assert len(set(ids)) == len(ids)

    def test_personas_convert_at_their_own_rates(self, history: Batch) -> None:
        the_catalog_ids = {c["persona_id"] for c in history.contacts}
        assert None in the_catalog_ids  # contacts no persona recognises

        def customer_rate(persona_id: uuid.UUID | None) -> float:
            people = [c for c in history.contacts if c["persona_id"] == persona_id]
            return sum(1 for c in people if c.get("customer_at")) / len(people)

        rates = sorted(customer_rate(p) for p in the_catalog_ids if p is not None)
        assert rates[-1] > 2.5 * rates[0] > 0

    def test_the_same_seed_gives_the_same_history(self) -> None:
        the_catalog = catalog()
        first, again = generated(200, 3, the_catalog), generated(200, 3, the_catalog)
        other = generated(200, 4, the_catalog)
        assert first.contacts == again.contacts
        assert first.stage_changes == again.stage_changes
        assert first.contacts != other.contacts


@pytest.mark.committing
class TestIntoTheDatabase:
    async def test_a_demo_fills_an_empty_database_that_the_api_then_shows(
        self, engine: AsyncEngine, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        summary = await fill_demo(engine, contacts=400, days=365, seed=5)
        assert summary.loaded.rows["contacts"] == 400
        assert summary.mapped == 400
        async with engine.connect() as connection:
            stored = await connection.scalar(select(func.count()).select_from(CONTACTS))
            moves = await connection.scalar(select(func.count()).select_from(STAGE_CHANGES))
            events = await connection.scalar(select(func.count()).select_from(EVENTS))
            links = await connection.scalar(select(func.count()).select_from(IDENTITIES))
            linked_captures = await connection.scalar(
                select(func.count()).select_from(CAPTURES).join(
                    IDENTITIES, IDENTITIES.c.external_id == CAPTURES.c.visitor_id
                ).where(IDENTITIES.c.contact_id == CAPTURES.c.contact_id)
            )  # fmt: skip
        assert stored == 400
        assert moves == summary.loaded.rows["stage_changes"]
        assert events == summary.loaded.rows["events"] > 1000
        assert links == summary.loaded.rows["identities"] > 250
        assert linked_captures
        assert linked_captures >= links
        reader = {"Authorization": f"Bearer {summary.reports_key}"}
        report = await committing_client.get(
            "/api/v1/reports/funnel",
            params={"from": "2024-01-01", "to": "2028-12-31", "by": "persona"},
            headers=reader,
        )
        assert report.status_code == 200, report.text
        total = report.json()["total"]["stages"]
        leads = sum(1 for c in await _contacts(engine) if c["lead_at"] is not None)
        assert total[0] == {"stage": "lead", "count": leads}
        some = (await _contacts(engine))[0]
        lead = await committing_client.get(f"/api/v1/leads/{some['id']}", headers=committing_admin)
        assert lead.status_code == 200, lead.text
        assert lead.json()["email"] == some["email"]
        assert lead.json()["persona_explanation"]["reason"]

    async def test_a_demo_has_survey_answers_as_its_contacts_gave_them_and_cases_for_complaints(
        self, engine: AsyncEngine, committing_client: httpx.AsyncClient
    ) -> None:
        summary = await fill_demo(engine, contacts=1500, days=365, seed=3)
        async with engine.connect() as connection:
            answers = [dict(r) for r in (await connection.execute(select(ANSWERS))).mappings()]
            cases = [dict(r) for r in (await connection.execute(select(CASES))).mappings()]
            windows = await connection.scalar(select(func.count()).select_from(RESPONDENTS))
            # Every window was taken by a signed link's answer, as the answers say.
            sources = set(await connection.scalars(select(RESPONDENTS.c.source).distinct()))
        contacts = {c["id"]: c for c in await _contacts(engine)}
        assert len(answers) == summary.feedback["answers"] > 200
        assert len(cases) == summary.feedback["cases"] > 20
        assert windows == len(answers)
        assert sources == {"link"} == {answer["source"] for answer in answers}
        for answer in answers:
            contact = contacts[answer["contact_id"]]
            assert answer["persona_id"] == contact["persona_id"]
            # The stage it stood at then: reached before the answer, never beyond the current.
            assert contact[f"{answer['stage']}_at"] <= answer["answered_at"]
            assert ORDER.index(answer["stage"]) <= ORDER.index(contact["stage"])
            assert answer["scale_min"] <= answer["score"] <= answer["scale_max"]
        by_answer = {a["id"]: a for a in answers}
        negative = {
            a["id"]
            for a in answers
            if is_negative(a["metric"], a["score"], a["scale_min"], a["scale_max"])
        }
        assert {case["answer_id"] for case in cases} == negative
        statuses = {case["status"] for case in cases}
        assert {"resolved", "open"} <= statuses
        for case in cases:
            assert case["opened_at"] == by_answer[case["answer_id"]]["answered_at"]
            assert case["due_at"] > case["opened_at"]
            if case["status"] == "resolved":
                assert case["opened_at"] <= case["contacted_at"] <= case["resolved_at"]
        reader = {"Authorization": f"Bearer {summary.reports_key}"}
        report = await committing_client.get(
            "/api/v1/reports/surveys",
            params={"metric": "nps", "by": "persona", "from": "2024-01-01", "to": "2028-12-31"},
            headers=reader,
        )
        assert report.status_code == 200, report.text
        nps = {g["key"]: g["figures"]["value"] for g in report.json()["groups"] if g["key"]}
        # The developer persona is the hardest to please: its NPS is the lowest.
        assert nps["developer"] == min(nps.values())

    async def test_a_database_with_data_is_refused(
        self, engine: AsyncEngine, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        made = await committing_client.post(
            "/api/v1/sites", json={"name": "Real site"}, headers=committing_admin
        )
        assert made.status_code == 201
        with pytest.raises(DatabaseNotEmpty):
            await fill_demo(engine, contacts=10, days=30, seed=1)
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(CONTACTS)) == 0


async def _contacts(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(select(CONTACTS))).mappings()]


async def test_the_command_fills_a_new_database_and_prints_a_reports_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    result = await run_async("demo", "--contacts", "300", database_url=url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "300 contacts" in result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("inb_sk_")
    again = await run_async("demo", "--contacts", "300", database_url=url, cwd=tmp_path)
    assert again.returncode != 0
    assert "already holds" in again.stderr
