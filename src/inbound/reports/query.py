"""What every report asks, and the contacts it is about, in SQL.

`reached_at(S)` is the contact's `S_at` column: a capture or a stage move fills in every
skipped stage with the time of the jump, and a stage's time is never moved later, so the
columns already hold the earliest time a contact entered S or any later stage.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.leads.stages import STAGES, LifecycleStage
from inbound.reports.period import Period

Figures = TypeVar("Figures")
Narrowed = TypeVar("Narrowed", bound=Select[Any])
HOURS_PER_DAY = 24


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
class ReportQuery:
    """A report's question, its period already turned into UTC instants."""

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

    @classmethod
    def over(
        cls, period: Period, *, mode: Mode, entry: LifecycleStage, **narrowed: Any
    ) -> "ReportQuery":
        """The question over ``period`` as of now; ``narrowed``: the other fields, if any."""
        return cls(mode, entry, period.start, period.end, utcnow(), **narrowed)

    @property
    def stages(self) -> tuple[LifecycleStage, ...]:
        return STAGES[self.entry.rank :]

    @property
    def partitioned(self) -> bool:
        """Whether there are groups, each contact in exactly one: the groups add up to all."""
        return self.by not in (Breakdown.NONE, Breakdown.ANY_ASSET)


@dataclass(slots=True)
class Measured(Generic[Figures]):
    """A report's figures per group, and those of all contacts when measured in passing."""

    groups: list[tuple[tuple[Any, ...], Figures]] = field(default_factory=list)
    total: Figures | None = None


def reached(stage: LifecycleStage) -> Any:
    """The column holding ``reached_at(stage)``."""
    return CONTACTS.c[stage.reached_column]


def _within_days(later: Any, earlier: Any, days: int, dialect: str) -> ColumnElement[bool]:
    """``later`` at most ``days`` times 24 hours after ``earlier``."""
    if dialect == "postgresql":
        # In hours: PostgreSQL adds an interval's days as calendar days of the session's time
        # zone, 23 or 25 hours long across a daylight-saving change.
        hours = func.make_interval(0, 0, 0, 0, days * HOURS_PER_DAY)
        return later <= earlier + hours  # type: ignore[no-any-return]
    return func.julianday(later) - func.julianday(earlier) <= days


def counted(query: ReportQuery, stage: LifecycleStage, dialect: str) -> ColumnElement[bool]:
    """Whether a contact of the population counts as having reached ``stage``.

    Cohort mode: reached it by the as-of time (within the window of entering, if one is set);
    period mode: reached it inside the period.
    """
    when = reached(stage)
    if query.mode is Mode.PERIOD:
        return and_(when >= query.start, when < query.end)
    return and_(when.is_not(None), when <= query.as_of, in_window(query, stage, dialect))


def in_window(query: ReportQuery, stage: LifecycleStage, dialect: str) -> ColumnElement[bool]:
    """Cohort mode: the contact reached ``stage`` within the window of entering, if one is set."""
    if query.window_days is None:
        return true()
    return _within_days(reached(stage), reached(query.entry), query.window_days, dialect)


def where_given(statement: Narrowed, *equal: tuple[Any, Any]) -> Narrowed:
    """``statement`` kept to the rows where each column equals its value, for the values given
    (None: no filter on that column)."""
    return statement.where(*(column == value for column, value in equal if value is not None))


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


def grouped(
    query: ReportQuery,
    dialect: str,
    values: Sequence[Any],
    counted_stages: Sequence[LifecycleStage],
    *,
    aggregate: bool = True,
    with_total: bool = False,
) -> tuple[Select[Any], int]:
    """``values`` per group over the report's contacts, and how many group columns lead.

    The contacts are the cohort (reached the entry stage inside the period) in cohort mode; in
    period mode, those that reached one of ``counted_stages`` inside it. Filters narrow them.
    Without ``aggregate``, a row per contact (and group) instead. ``with_total`` (PostgreSQL,
    a breakdown that puts each contact in one group) adds the row of all contacts in the same
    pass, told apart by a last column that is not 0.
    """
    touched = select(CAPTURES.c.contact_id, CAPTURES.c.asset_id).distinct().subquery("touched")
    groups = _group_columns(query.by, touched)
    if with_total:
        values = [*values, func.grouping(*groups)]
    statement = select(*groups, *values).select_from(CONTACTS)
    if query.by is Breakdown.ANY_ASSET:
        statement = statement.join(touched, touched.c.contact_id == CONTACTS.c.id)
    entry = reached(query.entry)
    if query.mode is Mode.COHORT:
        statement = statement.where(entry >= query.start, entry < query.end)
    else:
        statement = statement.where(or_(*(counted(query, s, dialect) for s in counted_stages)))
    statement = where_given(
        statement,
        (CONTACTS.c.persona_id, query.persona_id),
        (CONTACTS.c.first_site_id, query.site_id),
    )
    if query.asset_id is not None:
        captured = select(CAPTURES.c.id).where(
            CAPTURES.c.contact_id == CONTACTS.c.id, CAPTURES.c.asset_id == query.asset_id
        )
        statement = statement.where(captured.exists())
    if with_total:
        return statement.group_by(func.grouping_sets(tuple_(*groups), tuple_())), len(groups)
    return (statement.group_by(*groups) if aggregate else statement), len(groups)


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
