"""A visitor's own history, read live on every request in one or two lean statements.

An anonymous visitor's history is its latest events; a contact's is the latest events of
every id linked to it (`visitor_identities`), plus its captures, persona and stage.

A browser asks with the site's public key, and anyone can post a form or an identify call
with someone else's email: so a browser's history is only what it did itself, its events and
the captures it posted (their `visitor_id`), never what its contact's record holds.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.leads.models import Capture, Contact
from inbound.lean_sql import LeanStatement, LeanTransaction
from inbound.tracking.models import TrackingEvent, VisitorIdentity

EVENTS = TrackingEvent.__table__  # type: ignore[attr-defined]
IDENTITIES = VisitorIdentity.__table__  # type: ignore[attr-defined]
CONTACTS = Contact.__table__  # type: ignore[attr-defined]
CAPTURES = Capture.__table__  # type: ignore[attr-defined]
# The latest events read per visitor: recent behaviour is what the ranking weighs most.
HISTORY_LIMIT = 300
CAMPAIGN = EVENTS.c.context[("campaign", "name")].as_string().label("campaign")


@dataclass(frozen=True, slots=True)
class Seen:
    """One event of a visitor's history: the asset it is about (if any) and its campaign."""

    asset_id: uuid.UUID | None
    at: datetime
    campaign: str | None


Captures = tuple[tuple[uuid.UUID, datetime], ...]  # (asset, when), each capture


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """A contact's persona, stage and captures; None when there is no such contact."""

    persona_id: uuid.UUID | None
    stage: str | None
    captures: Captures


def _columns() -> tuple[Any, ...]:
    return EVENTS.c.id, EVENTS.c.asset_id, EVENTS.c.occurred_at, CAMPAIGN


BY_ANONYMOUS_ID = LeanStatement(
    select(*_columns())
    .where(EVENTS.c.anonymous_id == bindparam("anonymous_id"))
    .order_by(EVENTS.c.occurred_at.desc())
    .limit(HISTORY_LIMIT)
)


def _linked(kind: str, column: Any) -> Any:
    """The latest events under one kind of the contact's linked ids (each index-driven)."""
    return (
        select(*_columns())
        .join_from(IDENTITIES, EVENTS, column == IDENTITIES.c.external_id)
        .where(IDENTITIES.c.contact_id == bindparam("contact_id"), IDENTITIES.c.kind == kind)
        .order_by(EVENTS.c.occurred_at.desc())
        .limit(HISTORY_LIMIT)
    )


BY_CONTACT = LeanStatement(
    union_all(
        select(_linked("anonymous", EVENTS.c.anonymous_id).subquery()),
        select(_linked("user", EVENTS.c.user_id).subquery()),
    )
)
BROWSER_CAPTURES = LeanStatement(
    select(CAPTURES.c.asset_id, CAPTURES.c.created_at).where(
        CAPTURES.c.visitor_id == bindparam("anonymous_id")
    )
)
CONTACT = LeanStatement(
    select(
        CONTACTS.c.persona_id,
        CONTACTS.c.stage,
        CAPTURES.c.asset_id,
        CAPTURES.c.created_at,
        literal(1).label("found"),
    )
    .select_from(CONTACTS.outerjoin(CAPTURES, CAPTURES.c.contact_id == CONTACTS.c.id))
    .where(CONTACTS.c.id == bindparam("contact_id"))
)


def _seen(rows: list[dict[str, Any]]) -> list[Seen]:
    """Oldest first, each event once (one may be under both an anonymous and a user id)."""
    unique = {row["id"]: row for row in rows}.values()
    ordered = sorted(unique, key=lambda row: row["occurred_at"])[-HISTORY_LIMIT:]
    return [Seen(row["asset_id"], row["occurred_at"], row["campaign"]) for row in ordered]


async def browser_history(
    bind: AsyncEngine | AsyncConnection, anonymous_id: str
) -> tuple[Captures, list[Seen]]:
    """The captures a browser posted and its latest events, oldest first (none for an
    unknown id)."""
    async with LeanTransaction.reading(bind) as transaction:
        posted = await transaction.rows(BROWSER_CAPTURES, {"anonymous_id": anonymous_id})
        rows = await transaction.rows(BY_ANONYMOUS_ID, {"anonymous_id": anonymous_id})
    return tuple((row["asset_id"], row["created_at"]) for row in posted), _seen(rows)


async def contact_history(
    bind: AsyncEngine | AsyncConnection, contact_id: uuid.UUID
) -> tuple[ContactFacts | None, list[Seen]]:
    """A contact's persona, stage and captures, and the latest events of its linked ids."""
    # Two reads, each on its own: a link made between them only shows one request later.
    async with LeanTransaction.reading(bind) as transaction:
        facts = await transaction.rows(CONTACT, {"contact_id": contact_id})
        if not facts:
            return None, []
        rows = await transaction.rows(BY_CONTACT, {"contact_id": contact_id})
    captures = tuple(
        (row["asset_id"], row["created_at"]) for row in facts if row["asset_id"] is not None
    )
    contact = ContactFacts(facts[0]["persona_id"], facts[0]["stage"], captures)
    return contact, _seen(rows)
