"""The facts the churn signals are computed from, read set-based for a selection of contacts:
one query per source (engagement ledger, survey answers, feedback cases), whatever the number of
contacts. The same statements serve the worker's batches and a single lead's risk."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, case, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from inbound.churn.signals import (
    ANSWERS_WITHIN,
    CES_NEGATIVE_MAX,
    CSAT_NEGATIVE_MAX,
    ELIGIBLE_STAGES,
    NPS_DETRACTOR_MAX,
    WINDOW,
    Answer,
    Facts,
)
from inbound.db import UTCDateTime
from inbound.leads.repository import CONTACTS, SCORE_EVENTS
from inbound.surveys.answer_sql import ANSWERS, CASES, TOUCHPOINTS
from inbound.surveys.models import CaseStatus

Reader = AsyncConnection | AsyncSession


@dataclass(frozen=True, slots=True)
class Contacts:
    """Whose facts to read: the contacts with ids in (``after``, ``last``], or one contact.

    Each source is narrowed by its own `contact_id` too, so that it is read through its index
    for those contacts only, not scanned whole and joined.
    """

    after: uuid.UUID
    last: uuid.UUID

    @classmethod
    def one(cls, contact_id: uuid.UUID) -> "Contacts":
        return cls(uuid.UUID(int=contact_id.int - 1), contact_id)

    def on(self, column: Any) -> ColumnElement[bool]:
        """The condition on a `contact_id` column."""
        if self.after.int + 1 == self.last.int:
            return cast(ColumnElement[bool], column == self.last)
        return and_(column > self.after, column <= self.last)

    def eligible(self) -> ColumnElement[bool]:
        """Those of them at an eligible stage, as a condition on `contacts`."""
        return and_(eligible(), self.on(CONTACTS.c.id))


def eligible() -> ColumnElement[bool]:
    """Contacts whose churn is measured: at an eligible stage."""
    return CONTACTS.c.stage.in_([stage.value for stage in ELIGIBLE_STAGES])


def negative() -> ColumnElement[bool]:
    """A negative answer, as `signals.is_negative` says, in SQL."""
    a = ANSWERS.c
    return or_(
        and_(a.metric == "nps", a.score <= NPS_DETRACTOR_MAX),
        *(
            and_(a.metric == "ces", a.scale_max == top, a.score <= highest)
            for top, highest in CES_NEGATIVE_MAX.items()
        ),
        and_(a.metric == "csat", a.score <= CSAT_NEGATIVE_MAX),
    )


async def read_facts(reader: Reader, contacts: Contacts, now: datetime) -> dict[uuid.UUID, Facts]:
    """The facts of each of ``contacts`` at an eligible stage."""
    c = CONTACTS.c
    rows = await reader.execute(select(c.id, c.created_at).where(contacts.eligible()))
    found = {row.id: Facts(created_at=row.created_at) for row in rows}
    if not found:
        return found
    await _engagement(reader, contacts, now, found)
    await _answers(reader, contacts, now, found)
    await _cases(reader, contacts, now, found)
    return found


async def _engagement(
    reader: Reader, contacts: Contacts, now: datetime, found: dict[uuid.UUID, Facts]
) -> None:
    e = SCORE_EVENTS.c
    recent_from, earlier_from = now - WINDOW, now - 2 * WINDOW
    # Ledger rows dated after now (a clock ahead somewhere) count from when they happen.
    in_recent = and_(e.created_at >= recent_from, e.created_at <= now)
    in_earlier = and_(e.created_at >= earlier_from, e.created_at < recent_from)
    statement = (
        select(
            e.contact_id,
            func.sum(case((in_recent, e.points), else_=0.0)).label("recent"),
            func.sum(case((in_earlier, e.points), else_=0.0)).label("earlier"),
            func.max(
                type_coerce(
                    case((and_(e.points > 0, e.created_at <= now), e.created_at)), UTCDateTime
                )
            ).label("last"),
        )
        .join(CONTACTS, CONTACTS.c.id == e.contact_id)
        .where(contacts.eligible(), contacts.on(e.contact_id))
        .group_by(e.contact_id)
    )
    for row in await reader.execute(statement):
        facts = found.get(row.contact_id)
        if facts is not None:
            facts.recent_points = float(row.recent or 0.0)
            facts.earlier_points = float(row.earlier or 0.0)
            facts.last_engaged_at = row.last


async def _answers(
    reader: Reader, contacts: Contacts, now: datetime, found: dict[uuid.UUID, Facts]
) -> None:
    a = ANSWERS.c
    statement = (
        select(a.contact_id, a.metric, a.score, a.scale_max, a.answered_at, TOUCHPOINTS.c.slug)
        .join(TOUCHPOINTS, TOUCHPOINTS.c.id == a.touchpoint_id)
        .join(CONTACTS, CONTACTS.c.id == a.contact_id)
        .where(contacts.eligible(), contacts.on(a.contact_id), negative())
        .where(a.answered_at >= now - ANSWERS_WITHIN, a.answered_at <= now)
    )
    for row in await reader.execute(statement):
        facts = found.get(row.contact_id)
        if facts is not None:
            facts.negative_answers.append(
                Answer(row.metric, row.score, row.scale_max, row.answered_at, row.slug)
            )


async def _cases(
    reader: Reader, contacts: Contacts, now: datetime, found: dict[uuid.UUID, Facts]
) -> None:
    f = CASES.c
    overdue = f.due_at < now
    statement = (
        select(
            f.contact_id,
            func.count().label("unresolved"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
            func.min(type_coerce(case((overdue, f.due_at)), UTCDateTime)).label("overdue_since"),
        )
        .join(CONTACTS, CONTACTS.c.id == f.contact_id)
        .where(contacts.eligible(), contacts.on(f.contact_id))
        .where(f.status != CaseStatus.RESOLVED.value)
        .group_by(f.contact_id)
    )
    for row in await reader.execute(statement):
        facts = found.get(row.contact_id)
        if facts is not None:
            facts.unresolved_cases = int(row.unresolved)
            facts.overdue_cases = int(row.overdue or 0)
            facts.overdue_since = row.overdue_since
