"""Fixtures of the report tests: the contacts of `people.py` in the database, a reports key."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.auth.scopes import Scope
from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.reports.dashboard_auth import COOKIE
from tests.conftest import Headers, KeyMaker
from tests.reports.people import PEOPLE, STAGE_NAMES, Ids, Person
from tests.reports.survey_answers import SurveyWorld, draw_answers, make_survey_world
from tests.reports.test_dashboard_sessions import issue, sign_in
from tests.support.world import make_asset, make_persona, make_world


@pytest.fixture
async def ids(client: httpx.AsyncClient, admin: Headers, db: AsyncSession) -> Ids:
    world = await make_world(client, admin)
    personas = {slug: uuid.UUID((await make_persona(client, admin, slug))["id"])
                for slug in ("cio", "cfo")}  # fmt: skip
    assets = {
        slug: uuid.UUID((await make_asset(client, admin, slug=slug, title=slug.title()))["id"])
        for slug in ("guide", "checklist", "unused")
    }
    site = uuid.UUID(world.site_id)
    for person in PEOPLE:
        await db.execute(insert(CONTACTS).values(_contact_row(person, personas, assets, site)))
        for slug, when in person.captures:
            await db.execute(insert(CAPTURES).values(
                id=uuid.uuid4(), contact_id=person.id, asset_id=assets[slug], site_id=site,
                fields={}, created_at=when,
            ))  # fmt: skip
    await db.commit()
    return Ids(personas, assets, site)


def _contact_row(
    person: Person, personas: dict[str, uuid.UUID], assets: dict[str, uuid.UUID], site: uuid.UUID
) -> dict[str, Any]:
    last = max(person.reached, key=STAGE_NAMES.index)
    first = min(person.reached.values())
    return {
        "id": person.id, "email": f"{person.id}@example.com", "stage": last,
        "stage_changed_at": person.reached[last], "custom_fields": {}, "topics": [],
        "touches": {}, "fit": 0.5, "grade": "B", "score": 0.0, "version": 1,
        "persona_id": personas[person.persona] if person.persona else None,
        "first_asset_id": assets[person.first_asset] if person.first_asset else None,
        "first_site_id": site, "first_utm_source": person.source[0],
        "first_utm_medium": person.source[1], "created_at": first, "updated_at": first,
        **{f"{stage}_at": when for stage, when in person.reached.items()},
    }  # fmt: skip


@pytest.fixture
async def reader(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.REPORTS_READ, name="reports")


@pytest.fixture
async def survey_world(client: httpx.AsyncClient, admin: Headers, db: AsyncSession) -> SurveyWorld:
    return await make_survey_world(client, admin, db, draw_answers())


@pytest.fixture
async def token(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    """The dashboard's session cookie of a reports key, signed in."""
    _, key = await issue(sessionmaker, Scope.REPORTS_READ)
    response = await sign_in(client, key)
    assert response.status_code == 303, response.text
    return response.cookies[COOKIE]
