"""Writing a synthetic history into a database: the catalog through the services, the history
in bulk (multi-row inserts anywhere, COPY on PostgreSQL for millions of contacts)."""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.content.schemas import AssetCreate
from inbound.content.service import AssetService
from inbound.db import create_sessionmaker, utcnow
from inbound.demo.catalog import ASSETS, PERSONAS, asset_url
from inbound.demo.feedback import answered_contacts, create_surveys, feedback
from inbound.demo.history import Catalog, History
from inbound.leads.qualification.remap import remap_if_changed
from inbound.leads.repository import CAPTURES, CONTACTS, SCORE_EVENTS, STAGE_CHANGES
from inbound.personas.schemas import PersonaCreate
from inbound.personas.service import PersonaService
from inbound.sites.service import SiteService
from inbound.surveys.answer_sql import ANSWERS, CASES, RESPONDENTS
from inbound.tracking.models import VisitorIdentity
from inbound.tracking.partitions import ensure_partitions
from inbound.tracking.repository import EVENTS

ORIGIN = "https://www.example.com"
TABLES: tuple[tuple[str, Table], ...] = (
    ("contacts", CONTACTS),
    ("captures", CAPTURES),
    ("stage_changes", STAGE_CHANGES),
    ("score_events", SCORE_EVENTS),
)
IDENTITIES: Table = VisitorIdentity.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a load wrote, and how long it took."""

    catalog: Catalog
    public_key: str
    rows: dict[str, int]
    seconds: float


class DatabaseNotEmpty(Exception):
    """The demo writes its own site, personas and assets, and would mix with what is there."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    loaded: Loaded
    mapped: int  # contacts the mapping pass checked
    reports_key: str
    feedback: dict[str, int]  # survey answers and follow-up cases written


async def fill_demo(engine: AsyncEngine, *, contacts: int, days: int, seed: int) -> DemoSummary:
    """A demo history in an empty, migrated database; its personas mapped as the service maps
    them (with their explanations), and a key to read its reports."""
    async with engine.connect() as connection:
        for table in (CONTACTS, *(CONTACTS.metadata.tables[n] for n in ("personas", "sites"))):
            if await connection.scalar(select(func.count()).select_from(table)):
                raise DatabaseNotEmpty(
                    f"the database already holds {table.name}; the demo needs an empty one "
                    "(set INBOUND_DATABASE_URL to another)"
                )
    now = utcnow()
    loaded = await load_history(
        engine, contacts=contacts, now=now, days=days, seed=seed, behaviour=True
    )
    sessionmaker = create_sessionmaker(engine)
    run = await remap_if_changed(sessionmaker, force=True)
    # After the mapping: an answer keeps the persona its contact had when it answered.
    written = await load_feedback(engine, loaded.catalog, now=now, days=days, seed=seed)
    async with sessionmaker() as session, session.begin():
        _, reports_key = await ApiKeyService(session).issue(
            name="demo reports", scopes=[Scope.REPORTS_READ]
        )
    return DemoSummary(loaded, run.checked if run else 0, reports_key, written)


async def load_feedback(
    engine: AsyncEngine, catalog: Catalog, *, now: datetime, days: int, seed: int
) -> dict[str, int]:
    """The demo's surveys, the answers of the contacts that reached their stages, and the
    cases of the negative answers; how many answers and cases were written."""
    surveys = await create_surveys(engine)
    personas = {persona_id: slug for slug, persona_id in catalog.personas.items()}
    write = _copy if engine.dialect.name == "postgresql" else _insert
    async with engine.begin() as connection:
        contacts = await answered_contacts(connection)
        made = feedback(contacts, surveys, personas, now=now, days=days, seed=seed)
        await write(connection, ANSWERS, made.answers)
        await write(connection, RESPONDENTS, made.respondents)
        await write(connection, CASES, made.cases)
    return {"answers": len(made.answers), "cases": len(made.cases)}


async def create_catalog(engine: AsyncEngine) -> tuple[Catalog, str]:
    """The site, the personas and the assets, made through the services as the API would;
    answers their ids and the site's public key."""
    async with create_sessionmaker(engine)() as session, session.begin():
        site, public_key = await SiteService(session).create(
            name="Demo site", allowed_origins=[ORIGIN]
        )
        personas = {}
        for persona in PERSONAS:
            titles = list(persona.titles)
            rule = {"field": "job_title", "operator": "contains_any", "values": titles}
            # Strict like the API: lists as JSON has them.
            document = PersonaCreate.model_validate({
                "slug": persona.slug, "name": persona.name, "goals": list(persona.goals),
                "pain_points": list(persona.pain_points), "rules": [rule],
            })  # fmt: skip
            created = await PersonaService(session).create(document.model_dump(mode="json"))
            personas[persona.slug] = created.id
        assets = {}
        for asset in ASSETS:
            tags = [{"persona": slug, "relevance": relevance}
                    for slug, relevance in asset.relevance.items()]  # fmt: skip
            asset_document = AssetCreate.model_validate({
                "slug": asset.slug, "title": asset.title, "kind": asset.kind,
                "funnel_stage": asset.funnel_stage, "gated": asset.gated, "url": asset_url(asset),
                "delivery_url": f"https://cdn.example.com/{asset.slug}" if asset.gated else None,
                "topics": list(asset.topics), "personas": tags,
            })  # fmt: skip
            created_asset = await AssetService(session).create(
                asset_document.model_dump(mode="json")
            )
            assets[asset.slug] = created_asset.id
    return Catalog(site.id, personas, assets), public_key


async def load_history(
    engine: AsyncEngine,
    *,
    contacts: int,
    now: datetime,
    days: int = 365,
    seed: int = 1,
    eagerness: float = 1.0,
    behaviour: bool = False,
) -> Loaded:
    """The catalog and ``contacts`` contacts' history over the ``days`` before ``now``
    (``eagerness``, ``behaviour``: see `History`).

    COPY on PostgreSQL, multi-row inserts elsewhere; each batch in its own transaction.
    """
    began = time.perf_counter()
    catalog, public_key = await create_catalog(engine)
    rows = dict.fromkeys((*(name for name, _ in TABLES), "events", "identities"), 0)
    history = History(
        catalog, now=now, days=days, seed=seed, eagerness=eagerness, behaviour=behaviour
    )
    write = _copy if engine.dialect.name == "postgresql" else _insert
    for batch in history.batches(contacts):
        async with engine.begin() as connection:
            for name, table in TABLES:
                written: list[dict[str, Any]] = getattr(batch, name)
                await write(connection, table, written)
                rows[name] += len(written)
            events, identities = batch.behaviour.events, batch.behaviour.identities
            await ensure_partitions(connection, (event["occurred_at"] for event in events))
            await write(connection, EVENTS, events)
            await write(connection, IDENTITIES, identities)
            rows["events"] += len(events)
            rows["identities"] += len(identities)
    return Loaded(catalog, public_key, rows, time.perf_counter() - began)


async def _insert(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = _written(table, rows[0])
        await connection.execute(insert(table), [_complete(row, columns) for row in rows])


async def _copy(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    columns = _written(table, rows[0])
    as_json = {column.name for column in table.columns if _is_json(column.type)}
    records = (
        tuple(_json(row.get(name)) if name in as_json else row.get(name) for name in columns)
        for row in rows
    )
    await driver.copy_records_to_table(table.name, records=_listed(records), columns=columns)


def _written(table: Table, row: dict[str, Any]) -> list[str]:
    """Every column, but those the history leaves to the database's defaults."""
    return [c.name for c in table.columns if c.name in row or c.server_default is None]


def _complete(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """Every column named, so that one statement shape inserts the whole batch."""
    return {name: row.get(name) for name in columns}


def _listed(records: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return list(records)


def _is_json(column_type: Any) -> bool:
    mapped = getattr(column_type, "mapping", {}).get("postgresql", column_type)
    return isinstance(column_type, JSON) or isinstance(mapped, JSON)


def _json(value: Any) -> str | None:
    # The text asyncpg's JSON codec takes, as SQLAlchemy's own serializer would write it.
    return None if value is None else msgspec.json.encode(value).decode()
