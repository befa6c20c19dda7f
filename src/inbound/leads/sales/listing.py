"""The sales team's list of leads in its sorts, a page at a time, read in plain SQL.

In `updated` order (the default) the list is also a change feed: see `inbound.leads.sales.feed` for
which changes a page may show. A reader that keeps the poll cursor sees every change once, and
none twice.
"""

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.content.models import ContentAsset
from inbound.db import seconds_between, table_of
from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.leads.sales.cursor import LeadSort, Position
from inbound.leads.sales.feed import (
    Committed,
    Shown,
    Snapshot,
    feed_rows,
    first_committed,
    handover,
    plain_rows,
    read_snapshot,
)
from inbound.leads.sales.filters import NO_PERSONA as NO_PERSONA
from inbound.leads.sales.filters import UNOWNED as UNOWNED
from inbound.leads.sales.filters import LeadFilter
from inbound.personas.models import Persona

LAST_ID = uuid.UUID(int=(1 << 128) - 1)
# exp(-700) is still a float; much further, PostgreSQL refuses to compute it.
MAX_EXPONENT = 700.0

PERSONAS = table_of(Persona)
ASSETS = table_of(ContentAsset)


@dataclass(slots=True)
class LeadPage:
    """One page of leads, each row with the assets the lead took."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    # In `updated` order, where the next poll resumes; see the module's description.
    poll_cursor: str | None
    assets: dict[uuid.UUID, list[dict[str, Any]]]


async def list_leads(
    connection: AsyncConnection,
    filters: LeadFilter,
    *,
    sort: LeadSort,
    limit: int,
    cursor: str | None,
    half_life_days: float,
    now: datetime,
) -> LeadPage:
    """One page of the leads ``filters`` selects, in ``sort`` order."""
    dialect = connection.dialect.name
    position = Position.decode(cursor, sort, filters) if cursor else None
    as_of = position.as_of if position and position.as_of else now
    score = _score(as_of, half_life_days, dialect)
    statement = _selected(score, dialect).where(*filters.conditions(_shown(score, dialect)))
    walk = None
    if sort is LeadSort.UPDATED:
        walk = await _walk(connection, filters, position)
        statement = statement.where(walk.rows)
    ordering, after = _order(sort, score)
    if position is not None:
        statement = statement.where(after(position.key))
    statement = statement.order_by(*ordering).limit(limit + 1)
    rows = _dicts(await connection.execute(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["score"] = float(row["score"])

    def at(key: tuple[Any, ...], walked: Walk | None = walk) -> str:
        committed, shown = (walked.committed, walked.shown) if walked else (None, None)
        if shown is not None:
            shown = shown.past(key[0])
        scored_as_of = as_of if _scored(sort) else None
        return Position(sort, key, scored_as_of, filters.fingerprint(), committed, shown).encode()

    next_cursor = at(_key(sort, rows[-1])) if more else None
    poll_cursor = None
    if walk is not None:
        reached = _key(sort, rows[-1]) if rows else position.key if position else None
        poll_cursor = next_cursor or at(*walk.resumption(reached))
    assets = await _assets_taken(connection, [row["id"] for row in rows])
    return LeadPage(rows, next_cursor, poll_cursor, assets)


@dataclass(frozen=True, slots=True)
class Walk:
    """A walk in `updated` order: the rows its page may show, and what its cursors carry."""

    rows: ColumnElement[bool]
    snapshot: Snapshot
    committed: Committed | None  # a plain walk's
    shown: Shown | None  # the feed's, after a plain walk

    def resumption(self, reached: tuple[Any, ...] | None) -> tuple[tuple[Any, ...], "Walk"]:
        """Where the next poll starts after this walk's last page, and how it walks."""
        if self.committed is not None:
            start, shown = handover(self.committed, reached[0] if reached else None)
            return (start, LAST_ID), Walk(self.rows, self.snapshot, None, shown)
        # The feed resumes past every change below the horizon (and never behind where the
        # reader already was): none can come later.
        settled = (self.snapshot.horizon - 1, LAST_ID)
        return max(settled, reached) if reached else settled, self


async def _walk(
    connection: AsyncConnection, filters: LeadFilter, position: Position | None
) -> Walk:
    """A plain walk shows everything committed; the feed (a feed cursor, or `updated_since`)
    only what can no longer be overtaken."""
    snapshot = await read_snapshot(connection)
    seq = CONTACTS.c.change_seq
    if position is None and filters.updated_since is None:
        committed = first_committed(snapshot)
    else:
        committed = position.committed if position else None
    if committed is not None:
        return Walk(plain_rows(seq, committed, snapshot), snapshot, committed, None)
    shown = position.shown if position else None
    return Walk(feed_rows(seq, shown, snapshot), snapshot, None, shown)


# What a listed lead shows and sorts by: the profile's other JSON stays unread.
LISTED_COLUMNS = (
    "id", "email", "first_name", "last_name", "company", "job_title", "phone", "country",
    "industry", "company_size", "seniority", "stage", "lead_status", "owner", "owned_at",
    "persona_id", "persona_source", "persona_confidence", "persona_explanation", "fit", "grade",
    "score_at", "consent", "consent_at", "consent_text_version", "consent_capture_id",
    "first_site_id", "first_asset_id", "first_utm_source", "first_utm_medium",
    "first_utm_campaign", "first_utm_term", "first_utm_content", "first_referrer", "created_at",
    "updated_at", "version", "change_seq",
)  # fmt: skip


def _selected(score: ColumnElement[float], dialect: str) -> Select[Any]:
    return select(
        *(CONTACTS.c[name] for name in LISTED_COLUMNS),
        _shown(score, dialect).label("score"),
        score.label("sort_score"),
        PERSONAS.c.slug.label("persona_slug"),
        PERSONAS.c.name.label("persona_name"),
    ).outerjoin(PERSONAS, PERSONAS.c.id == CONTACTS.c.persona_id)


def _score(as_of: datetime, half_life_days: float, dialect: str) -> ColumnElement[float]:
    """Engagement decayed to ``as_of``, in SQL: every score halves over the same half-life,
    so the order it gives holds at any other moment too."""
    since = func.coalesce(CONTACTS.c.score_at, literal(as_of, CONTACTS.c.score_at.type))
    elapsed = seconds_between(literal(as_of, CONTACTS.c.score_at.type), since, dialect)
    rate = math.log(2) / (half_life_days * 86400.0)
    # As in `scoring.decayed`, a score set after `as_of` has not decayed yet; and one decayed
    # past anything a float can hold is 0 (PostgreSQL's exp() refuses to underflow).
    halvings = case(
        (elapsed <= 0, 0.0), (elapsed >= MAX_EXPONENT / rate, MAX_EXPONENT), else_=rate * elapsed
    )
    decayed: ColumnElement[float] = CONTACTS.c.score * func.exp(-halvings)
    return decayed


def _shown(score: ColumnElement[float], dialect: str) -> ColumnElement[float]:
    """The score rounded to two places, as a listed lead shows it."""
    if dialect == "postgresql":
        return func.round(cast(score, Numeric), 2)
    return func.round(score, 2)


def _scored(sort: LeadSort) -> bool:
    return sort in (LeadSort.SCORE, LeadSort.GRADE)


# From the key of a page's last row, the condition for the rows after it.
After = Callable[[tuple[Any, ...]], ColumnElement[bool]]


def _order(sort: LeadSort, score: ColumnElement[float]) -> tuple[list[Any], After]:
    c = CONTACTS.c
    match sort:
        case LeadSort.UPDATED:
            return (
                [c.change_seq, c.id],
                lambda key: (
                    tuple_(c.change_seq, c.id)
                    > tuple_(literal(key[0], c.change_seq.type), literal(key[1], c.id.type))
                ),
            )
        case LeadSort.RECENCY:
            return (
                [c.updated_at.desc(), c.id.desc()],
                lambda key: (
                    tuple_(c.updated_at, c.id)
                    < tuple_(literal(key[0], c.updated_at.type), literal(key[1], c.id.type))
                ),
            )
        case LeadSort.SCORE:
            return [score.desc(), c.id], lambda key: _below(score, key[0], c.id, key[1])
        case LeadSort.GRADE:
            return [c.grade, score.desc(), c.id], lambda key: or_(
                c.grade > key[0],
                and_(c.grade == key[0], _below(score, key[1], c.id, key[2])),
            )


def _below(score: ColumnElement[float], last: float, id_: Any, last_id: uuid.UUID) -> Any:
    """Rows after (``last`` score, ``last_id``) in highest-score-first order."""
    return or_(score < last, and_(score == last, id_ > literal(last_id, id_.type)))


def _key(sort: LeadSort, row: dict[str, Any]) -> tuple[Any, ...]:
    match sort:
        case LeadSort.UPDATED:
            return (row["change_seq"], row["id"])
        case LeadSort.RECENCY:
            return (row["updated_at"], row["id"])
        case LeadSort.SCORE:
            return (row["sort_score"], row["id"])
        case LeadSort.GRADE:
            return (row["grade"], row["sort_score"], row["id"])


async def _assets_taken(
    connection: AsyncConnection, contact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The assets each lead captured, first taken first."""
    if not contact_ids:
        return {}
    statement = (
        select(
            CAPTURES.c.contact_id,
            ASSETS.c.id,
            ASSETS.c.slug,
            ASSETS.c.title,
            ASSETS.c.kind,
            func.min(CAPTURES.c.created_at).label("first_taken_at"),
            func.count().label("times"),
        )
        .join(ASSETS, ASSETS.c.id == CAPTURES.c.asset_id)
        .where(CAPTURES.c.contact_id.in_(contact_ids))
        .group_by(CAPTURES.c.contact_id, ASSETS.c.id, ASSETS.c.slug, ASSETS.c.title,
                  ASSETS.c.kind)
        .order_by(CAPTURES.c.contact_id, func.min(CAPTURES.c.created_at))
    )  # fmt: skip
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for taken in _dicts(await connection.execute(statement)):
        found.setdefault(taken.pop("contact_id"), []).append(taken)
    return found


def _dicts(result: Result[Any]) -> list[dict[str, Any]]:
    """The rows as dicts, the column names read once."""
    names = tuple(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]
