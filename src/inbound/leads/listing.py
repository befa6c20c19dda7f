"""The sales team's list of leads: filters, sorts and keyset cursors, read in lean SQL.

In `updated` order (the default) the list is a change feed. Each contact's `change_seq` is
set by a trigger when it changes; on PostgreSQL it is the writing transaction's id, and the
list stops below the oldest transaction still running, so that a change committed late by a
slow transaction still sorts after every position a reader was already given. A reader that
keeps the cursor therefore sees every change once, and none twice.
"""

import base64
import binascii
import hashlib
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.content.models import ContentAsset
from inbound.db import seconds_between, table_of
from inbound.errors import BadRequest
from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.leads.scoring import decayed
from inbound.leads.stages import LifecycleStage
from inbound.personas.models import Persona

QUALIFIED = "qualified"
QUALIFIED_STAGES = (LifecycleStage.MQL, LifecycleStage.SQL)
UNOWNED = "unowned"
NO_PERSONA = "none"
LAST_ID = uuid.UUID(int=(1 << 128) - 1)

PERSONAS = table_of(Persona)
ASSETS = table_of(ContentAsset)


class LeadSort(StrEnum):
    """The orders the list comes in."""

    UPDATED = "updated"
    RECENCY = "recency"
    SCORE = "score"
    GRADE = "grade"


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """Which leads a list shows; every filter narrows it."""

    stages: tuple[LifecycleStage, ...] = ()
    persona_id: uuid.UUID | None = None
    without_persona: bool = False
    min_grade: str | None = None
    min_score: float | None = None
    owner: str | None = None
    unowned: bool = False
    site_id: uuid.UUID | None = None
    first_asset_id: uuid.UUID | None = None
    source: str | None = None
    updated_since: datetime | None = None

    def fingerprint(self) -> str:
        """A short digest, so that a cursor is only used with the filters it was made for."""
        described = repr(sorted(asdict(self).items())).encode()
        return hashlib.blake2s(described, digest_size=6).hexdigest()


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: the sort key of the last row before it."""

    sort: LeadSort
    key: tuple[Any, ...]
    # The moment scores are decayed to, fixed for a whole walk so that pages agree.
    as_of: datetime | None = None
    filters: str = ""

    def encode(self) -> str:
        document = {
            "s": self.sort.value,
            "k": [str(value) if isinstance(value, uuid.UUID | datetime) else value
                  for value in self.key],
            "t": self.as_of.isoformat() if self.as_of else None,
            "f": self.filters,
        }  # fmt: skip
        return base64.urlsafe_b64encode(msgspec.json.encode(document)).rstrip(b"=").decode()

    @classmethod
    def decode(cls, cursor: str, sort: LeadSort, filters: LeadFilter) -> "Position":
        """Read a cursor made for this sort and these filters; anything else is refused."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            document = msgspec.json.decode(raw, type=dict[str, Any])
            made_for = LeadSort(document["s"])
            as_of = _aware(datetime.fromisoformat(document["t"])) if document["t"] else None
            key = _typed_key(made_for, document["k"])
            fingerprint = str(document["f"])
        except (binascii.Error, msgspec.DecodeError, IndexError, KeyError, TypeError, ValueError):
            raise BadRequest("not a cursor this API returned", field="cursor") from None
        if made_for is not sort or fingerprint != filters.fingerprint():
            raise BadRequest(
                "the cursor was made for another sort or other filters: send the same ones",
                field="cursor",
            )
        return cls(sort, key, as_of, fingerprint)


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
    statement = _selected(score).where(*_conditions(filters, score))
    horizon = None
    if sort is LeadSort.UPDATED:
        horizon, own = await _horizon(connection)
        settled = CONTACTS.c.change_seq < horizon
        # What the reader's own transaction wrote, it sees settled.
        statement = statement.where(
            settled if own is None else settled | (CONTACTS.c.change_seq == own)
        )
    ordering, after = _order(sort, score)
    if position is not None:
        statement = statement.where(after(position.key))
    statement = statement.order_by(*ordering).limit(limit + 1)
    rows = _dicts(await connection.execute(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["score"] = round(decayed(row["score"], row["score_at"], now, half_life_days), 2)

    def at(key: tuple[Any, ...]) -> str:
        return Position(sort, key, as_of if _scored(sort) else None, filters.fingerprint()).encode()

    next_cursor = at(_key(sort, rows[-1])) if more else None
    poll_cursor = None
    if horizon is not None:
        # The last page resumes past every change below the horizon (and never behind where
        # the reader already was): none can come later.
        reached = _key(sort, rows[-1]) if rows else position.key if position else (0, LAST_ID)
        poll_cursor = next_cursor or at(max((horizon - 1, LAST_ID), reached))
    assets = await _assets_taken(connection, [row["id"] for row in rows])
    return LeadPage(rows, next_cursor, poll_cursor, assets)


# What a listed lead shows and sorts by: the profile's other JSON stays unread.
LISTED_COLUMNS = (
    "id", "email", "first_name", "last_name", "company", "job_title", "phone", "country",
    "industry", "company_size", "seniority", "stage", "lead_status", "owner", "owned_at",
    "persona_id", "persona_source", "persona_confidence", "persona_explanation", "fit", "grade",
    "score", "score_at", "consent", "consent_at", "consent_text_version", "consent_capture_id",
    "first_site_id", "first_asset_id", "first_utm_source", "first_utm_medium",
    "first_utm_campaign", "first_utm_term", "first_utm_content", "first_referrer", "created_at",
    "updated_at", "version", "change_seq",
)  # fmt: skip


def _selected(score: ColumnElement[float]) -> Select[Any]:
    return select(
        *(CONTACTS.c[name] for name in LISTED_COLUMNS),
        score.label("sort_score"),
        PERSONAS.c.slug.label("persona_slug"),
        PERSONAS.c.name.label("persona_name"),
    ).outerjoin(PERSONAS, PERSONAS.c.id == CONTACTS.c.persona_id)


def _conditions(filters: LeadFilter, score: ColumnElement[float]) -> list[ColumnElement[bool]]:
    c = CONTACTS.c
    found: list[ColumnElement[bool]] = []
    if filters.stages:
        found.append(c.stage.in_([stage.value for stage in filters.stages]))
    if filters.without_persona:
        found.append(c.persona_id.is_(None))
    elif filters.persona_id is not None:
        found.append(c.persona_id == filters.persona_id)
    if filters.min_grade is not None:
        found.append(c.grade <= filters.min_grade)  # A is the best grade
    if filters.min_score is not None:
        found.append(score >= filters.min_score)
    if filters.unowned:
        found.append(c.owner.is_(None))
    elif filters.owner is not None:
        found.append(c.owner == filters.owner)
    if filters.site_id is not None:
        found.append(c.first_site_id == filters.site_id)
    if filters.first_asset_id is not None:
        found.append(c.first_asset_id == filters.first_asset_id)
    if filters.source is not None:
        found.append(func.lower(c.first_utm_source) == filters.source.lower())
    if filters.updated_since is not None:
        found.append(c.updated_at >= filters.updated_since)
    return found or [true()]


def _score(as_of: datetime, half_life_days: float, dialect: str) -> ColumnElement[float]:
    """Engagement decayed to ``as_of``, in SQL: every score halves over the same half-life,
    so the order it gives holds at any other moment too."""
    since = func.coalesce(CONTACTS.c.score_at, literal(as_of, CONTACTS.c.score_at.type))
    elapsed = seconds_between(literal(as_of, CONTACTS.c.score_at.type), since, dialect)
    rate = math.log(2) / (half_life_days * 86400.0)
    decayed: ColumnElement[float] = CONTACTS.c.score * func.exp(-rate * elapsed)
    return decayed


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


def _typed_key(sort: LeadSort, values: list[Any]) -> tuple[Any, ...]:
    match sort:
        case LeadSort.UPDATED:
            return (int(values[0]), uuid.UUID(values[1]))
        case LeadSort.RECENCY:
            return (_aware(datetime.fromisoformat(values[0])), uuid.UUID(values[1]))
        case LeadSort.SCORE:
            return (float(values[0]), uuid.UUID(values[1]))
        case LeadSort.GRADE:
            return (str(values[0]), float(values[1]), uuid.UUID(values[2]))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a cursor's moments carry their zone")
    return moment


async def _horizon(connection: AsyncConnection) -> tuple[int, int | None]:
    """The change order below which no transaction can still commit a change, and that of
    the reader's own transaction if it wrote anything."""
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
            "pg_current_xact_id_if_assigned()::text::bigint"
        )
    else:  # one writer at a time: everything committed is final
        sql = "SELECT coalesce(max(change_seq), 0) + 1, NULL FROM contacts"
    horizon, own = (await connection.execute(text(sql))).one()
    return int(horizon), None if own is None else int(own)


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
