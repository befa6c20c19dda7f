"""What a capture bench posts and reads: the site and asset set up through the API, the capture
form, and the rows the service wrote for one capture."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from database import copy_contact_sql, plain_engine, run_sql
from service import ORIGIN, admin_api
from sqlalchemy import select

from inbound.leads.repository import CAPTURES as CAPTURE_ROWS
from inbound.leads.repository import CONTACTS, LEAD_EVENTS, SCORE_EVENTS, STAGE_CHANGES

CAPTURES = "/api/v1/captures"
ASSET_SLUG = "lead-scoring-ebook"
HTTP_NEW_IDS = 10**13  # emails c<n>@...: 1..N returning, pgbench's new ones 10^12..2*10^12
PGBENCH_NEW_IDS = (10**12, 2 * 10**12 - 1)
FORM: dict[str, Any] = {
    "asset": ASSET_SLUG,
    "email": None,
    "first_name": "Ana",
    "last_name": "Silva",
    "company": "Acme Logistics",
    "job_title": "IT Director",
    "company_size": 250,
    "country": "PT",
    "industry": "logistics",
    "consent": True,
    "consent_text_version": "2026-01",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "scoring-launch",
    "referrer": "https://www.example.com/blog/lead-scoring",
    "page_url": "https://www.example.com/resources/lead-scoring",
}
PERSONAS: list[dict[str, Any]] = [
    {"slug": "it-director", "name": "IT Director", "rules": [
        {"field": "job_title", "operator": "contains_any", "values": ["director", "cio"],
         "weight": 2.0},
        {"field": "company_size", "operator": "between", "min": 100, "weight": 1.0}]},
    {"slug": "marketer", "name": "Marketer", "rules": [
        {"field": "job_title", "operator": "contains_any", "values": ["marketing", "cmo"],
         "weight": 2.0},
        {"field": "industry", "operator": "one_of", "values": ["retail", "media"],
         "weight": 1.0}]},
    {"slug": "developer", "name": "Developer", "rules": [
        {"field": "job_title", "operator": "contains_any", "values": ["developer", "engineer"],
         "weight": 2.0}]},
]  # fmt: skip
ASSET: dict[str, Any] = {
    "slug": ASSET_SLUG,
    "title": "Lead Scoring E-book",
    "kind": "ebook",
    "funnel_stage": "convert",
    "topics": ["lead scoring", "crm"],
    "gated": True,
    "delivery_url": "https://cdn.example.com/lead-scoring.pdf",
    "form_fields": [{"name": n} for n in ("email", "first_name", "company", "job_title")],
    "personas": [{"persona": "it-director", "relevance": 3}, {"persona": "marketer"}],
}
# Ids that pgbench makes in SQL: time-ordered like the service's UUIDv7, from a random seed.


async def row_counts(url: str) -> dict[str, int]:
    tables = ("contacts", "captures", "stage_changes", "score_events")
    counts = await run_sql(url, *(f"SELECT count(*) FROM {t}" for t in tables))
    return dict(zip(tables, (int(c) for c in counts), strict=True))


async def seed_returning_contacts(url: str, count: int) -> None:
    """Copy the template contact (captured twice) into c1..c<count>, the returning visitors."""
    await run_sql(url, copy_contact_sql(count))
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)


@dataclass(frozen=True)
class Templates:
    """Rows the service wrote, whose values pgbench writes again."""

    new_contact: dict[str, Any]  # a contact just created by its first capture
    returning_contact: dict[str, Any]  # a returning visitor's contact after one more capture
    capture: dict[str, Any]
    stage_change: dict[str, Any]
    score_event: dict[str, Any]
    new_events: list[dict[str, Any]]  # the outbox rows of a new contact's first capture
    returning_events: list[dict[str, Any]]  # and of a returning contact's capture


async def events_of(url: str, contact: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outbox rows the contact's last change wrote, in order."""
    engine = plain_engine(url)
    async with engine.connect() as conn:
        found = await conn.execute(
            select(LEAD_EVENTS)
            .where(
                LEAD_EVENTS.c.lead_id == contact["id"],
                LEAD_EVENTS.c.lead_version == contact["version"],
            )
            .order_by(LEAD_EVENTS.c.seq)
        )
        rows = [dict(row) for row in found.mappings()]
    await engine.dispose()
    return rows


async def rows_of_capture(url: str, capture_id: str) -> dict[str, dict[str, Any] | None]:
    """A capture, its contact as it stands now, and the stage change and score it made."""
    engine = plain_engine(url)
    captures, contacts, stages, scores = CAPTURE_ROWS, CONTACTS, STAGE_CHANGES, SCORE_EVENTS
    async with engine.connect() as conn:

        async def row(statement: Any) -> dict[str, Any] | None:
            found = (await conn.execute(statement)).mappings().first()
            return dict(found) if found is not None else None

        capture = await row(select(captures).where(captures.c.id == capture_id))
        if capture is None:
            raise RuntimeError(f"capture {capture_id} not found")
        rows = {
            "capture": capture,
            "contact": await row(select(contacts).where(contacts.c.id == capture["contact_id"])),
            "stage_change": await row(select(stages).where(stages.c.capture_id == capture_id)),
            "score_event": await row(select(scores).where(scores.c.capture_id == capture_id)),
        }
    await engine.dispose()
    return rows


@dataclass(frozen=True)
class World:
    """What the load needs: the site's public key and the gated asset."""

    public_key: str
    asset_id: str


def build_world(base: str, admin_key: str) -> World:
    """A site, three personas with rules and a gated asset tagged to two of them."""
    with admin_api(base, admin_key) as created:
        site = created("/api/v1/sites", {"name": "Main site", "allowed_origins": [ORIGIN]})
        for persona in PERSONAS:
            created("/api/v1/personas", persona)
        asset = created("/api/v1/assets", ASSET)
    return World(site["public_key"], asset["id"])


def site_headers(world: World) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {world.public_key}",
        "Content-Type": "application/json",
        "Origin": ORIGIN,
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
    }


def capture_once(base: str, world: World, email: str) -> str:
    body = {**FORM, "email": email}
    response = httpx.post(f"{base}{CAPTURES}", json=body, headers=site_headers(world), timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"capture refused: {response.status_code} {response.text}")
    capture_id: str = response.json()["capture_id"]
    return capture_id
