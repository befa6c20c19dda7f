"""The funnel's counts in SQL: how many contacts reached each stage, per group.

`reached_at(S)` is the contact's `S_at` column: a capture or a stage move fills in every
skipped stage with the time of the jump, and a stage's time is never moved later, so the
columns already hold the earliest time a contact entered S or any later stage.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.leads.stages import STAGES, LifecycleStage


class Mode(StrEnum):
    COHORT = "cohort"
    PERIOD = "period"


class Breakdown(StrEnum):
    NONE = "none"
    PERSONA = "persona"
    FIRST_ASSET = "first_asset"
    ANY_ASSET = "any_asset"
    SOURCE = "source"
    SITE = "site"


@dataclass(frozen=True, slots=True)
class FunnelQuery:
    """A funnel report's question, its period already turned into UTC instants."""

    mode: Mode
    entry: LifecycleStage
    start: datetime
    end: datetime  # exclusive
    as_of: datetime
    window_days: int | None = None
    by: Breakdown = Breakdown.NONE
    persona_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None

    @property
    def stages(self) -> tuple[LifecycleStage, ...]:
        return STAGES[self.entry.rank :]


def _reached(stage: LifecycleStage) -> Any:
    return CONTACTS.c[stage.reached_column]


def _within_days(later: Any, earlier: Any, days: int, dialect: str) -> ColumnElement[bool]:
    """``later`` at most ``days`` days after ``earlier``; PostgreSQL and SQLite spell it apart."""
    if dialect == "postgresql":
        return later <= earlier + func.make_interval(0, 0, 0, days)  # type: ignore[no-any-return]
    return func.julianday(later) - func.julianday(earlier) <= days


def _counted(query: FunnelQuery, stage: LifecycleStage, dialect: str) -> ColumnElement[bool]:
    reached = _reached(stage)
    if query.mode is Mode.PERIOD:
        return and_(reached >= query.start, reached < query.end)
    condition = and_(reached.is_not(None), reached <= query.as_of)
    if query.window_days is not None:
        window = _within_days(reached, _reached(query.entry), query.window_days, dialect)
        condition = and_(condition, window)
    return condition


def _group_columns(by: Breakdown, touched: Any) -> list[Any]:
    match by:
        case Breakdown.PERSONA:
            return [CONTACTS.c.persona_id]
        case Breakdown.FIRST_ASSET:
            return [CONTACTS.c.first_asset_id]
        case Breakdown.ANY_ASSET:
            return [touched.c.asset_id]
        case Breakdown.SOURCE:
            return [CONTACTS.c.first_utm_source, CONTACTS.c.first_utm_medium]
        case Breakdown.SITE:
            return [CONTACTS.c.first_site_id]
        case _:
            return [literal("all").label("everyone")]


async def funnel_counts(
    session: AsyncSession, query: FunnelQuery
) -> Sequence[tuple[tuple[Any, ...], list[int]]]:
    """Per group (the breakdown's column values), the count that reached each stage."""
    dialect = session.get_bind().dialect.name
    touched = select(CAPTURES.c.contact_id, CAPTURES.c.asset_id).distinct().subquery("touched")
    groups = _group_columns(query.by, touched)
    counts = [
        func.count(case((_counted(query, stage, dialect), 1))).label(stage.value)
        for stage in query.stages
    ]
    statement = select(*groups, *counts).select_from(CONTACTS)
    if query.by is Breakdown.ANY_ASSET:
        statement = statement.join(touched, touched.c.contact_id == CONTACTS.c.id)
    entry = _reached(query.entry)
    if query.mode is Mode.COHORT:
        statement = statement.where(entry >= query.start, entry < query.end)
    else:
        statement = statement.where(or_(*(_counted(query, s, dialect) for s in query.stages)))
    if query.persona_id is not None:
        statement = statement.where(CONTACTS.c.persona_id == query.persona_id)
    if query.site_id is not None:
        statement = statement.where(CONTACTS.c.first_site_id == query.site_id)
    if query.asset_id is not None:
        captured = select(CAPTURES.c.id).where(
            CAPTURES.c.contact_id == CONTACTS.c.id, CAPTURES.c.asset_id == query.asset_id
        )
        statement = statement.where(captured.exists())
    statement = statement.group_by(*groups)
    rows = (await session.execute(statement)).all()
    width = len(groups)
    return [(tuple(row[:width]), [int(n) for n in row[width:]]) for row in rows]


async def group_labels(session: AsyncSession, by: Breakdown) -> dict[Any, tuple[str, str]]:
    """Every group a breakdown has even when nobody is in it: its key and its label, by id."""
    match by:
        case Breakdown.PERSONA:
            table, label = "personas", "name"
        case Breakdown.FIRST_ASSET | Breakdown.ANY_ASSET:
            table, label = "content_assets", "title"
        case Breakdown.SITE:
            table, label = "sites", "name"
        case _:
            return {}
    source = CONTACTS.metadata.tables[table]
    key = source.c.slug if "slug" in source.c else source.c.id
    rows = (await session.execute(select(source.c.id, key, source.c[label]))).all()
    return {row[0]: (str(row[1]), str(row[2])) for row in rows}
