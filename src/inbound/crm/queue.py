"""The sync queue in SQL: contacts made pending by their changes, taken in turn, and recorded
as synced, failed or due again."""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Uuid,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from inbound.content.models import ContentAsset
from inbound.crm.models import FAILED, PENDING, SYNCED, UNLINKED, CrmContact, CrmErasure, CrmResync
from inbound.db import dialect_insert_for, table_of
from inbound.leads.models import Contact
from inbound.lean_sql import LeanStatement, LeanTransaction
from inbound.personas.models import Persona
from inbound.sites.models import Site

QUEUE = table_of(CrmContact)
RESYNCS = table_of(CrmResync)
ERASURES = table_of(CrmErasure)
CONTACTS = table_of(Contact)
PERSONAS = table_of(Persona)
ASSETS = table_of(ContentAsset)
SITES = table_of(Site)

SYNCED_COLUMNS = (
    "id", "email", "first_name", "last_name", "company", "job_title", "phone", "country",
    "industry", "stage", "lead_status", "persona_explanation", "grade", "score", "consent",
    "owner", "first_utm_source", "first_utm_medium", "first_utm_campaign",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Pending:
    """A contact due for sync, as it is now."""

    contact_id: uuid.UUID
    generation: int
    attempts: int
    resync_id: uuid.UUID | None
    contact: dict[str, Any]
    # HubSpot's own properties as last written there (None: never written).
    last_sent: dict[str, str] | None = None


async def enqueue(
    connection: AsyncConnection,
    contact_ids: Iterable[uuid.UUID] | None,
    now: datetime,
    *,
    resync_id: uuid.UUID | None = None,
    chosen: Any = None,
    revive: bool = False,
) -> int:
    """Make contacts pending: those named, or those the ``chosen`` condition on contacts picks.

    A contact already pending keeps its place and backoff; the new generation makes its sync
    send the latest state. Contacts erased meanwhile are skipped, and so are those deleted in
    HubSpot, unless ``revive`` (a new capture, a backfill that asks). How many were queued.
    """
    source = select(
        CONTACTS.c.id, literal(PENDING), literal(1), literal(now), literal(0), literal(resync_id)
    )
    if contact_ids is not None:
        source = source.where(CONTACTS.c.id.in_(list(contact_ids)))
    if chosen is not None:
        source = source.where(chosen)
    if contact_ids is None and chosen is None:
        # SQLite reads `SELECT ... FROM t ON CONFLICT` as a join; a WHERE ends the SELECT.
        source = source.where(true())
    statement = dialect_insert_for(connection, QUEUE).from_select(
        ["contact_id", "state", "generation", "due_at", "attempts", "resync_id"], source
    )
    was_pending = QUEUE.c.state == PENDING
    changes: dict[str, Any] = {
        "generation": QUEUE.c.generation + 1,
        "state": PENDING,
        "due_at": case((was_pending, QUEUE.c.due_at), else_=statement.excluded.due_at),
        "attempts": case((was_pending, QUEUE.c.attempts), else_=0),
    }
    if resync_id is not None:
        changes["resync_id"] = resync_id
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id"], set_=changes,
        where=None if revive else QUEUE.c.state != UNLINKED,
    )  # fmt: skip
    result = await connection.execute(statement)
    return int(result.rowcount or 0)


def _claim_statement(dialect: str) -> Executable:
    # A contact whose email still has an erasure to carry out in HubSpot waits for it: its
    # upsert by email would update the erased contact there, which the delete then removes.
    erasing = exists().where(
        ERASURES.c.done_at.is_(None),
        ERASURES.c.email == CONTACTS.c.email,
        CONTACTS.c.id == QUEUE.c.contact_id,
    )
    turn = (
        select(QUEUE.c.contact_id)
        .where(QUEUE.c.state == PENDING, QUEUE.c.due_at <= bindparam("now"), ~erasing)
        .order_by(QUEUE.c.due_at)
        .limit(bindparam("limit", type_=Integer()))
    )
    if dialect == "postgresql":
        turn = turn.with_for_update(skip_locked=True)
    return (
        update(QUEUE)
        .where(QUEUE.c.contact_id.in_(turn.scalar_subquery()))
        .values(due_at=bindparam("lease_until"))
        .returning(
            QUEUE.c.contact_id, QUEUE.c.generation, QUEUE.c.attempts, QUEUE.c.resync_id,
            QUEUE.c.last_sent,
        )
    )  # fmt: skip


def _synced_contacts_statement(dialect: str) -> Executable:
    first_asset, first_site = ASSETS.alias("first_asset"), SITES.alias("first_site")
    if dialect == "postgresql":
        chosen = CONTACTS.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(Uuid())))
    else:
        chosen = CONTACTS.c.id.in_(bindparam("ids", expanding=True))
    return (
        select(
            *(CONTACTS.c[name] for name in SYNCED_COLUMNS),
            PERSONAS.c.slug.label("persona_slug"),
            first_asset.c.slug.label("first_asset_slug"),
            first_site.c.name.label("first_site_name"),
        )
        .select_from(
            CONTACTS.outerjoin(PERSONAS, PERSONAS.c.id == CONTACTS.c.persona_id)
            .outerjoin(first_asset, first_asset.c.id == CONTACTS.c.first_asset_id)
            .outerjoin(first_site, first_site.c.id == CONTACTS.c.first_site_id)
        )
        .where(chosen)
    )


CLAIM = LeanStatement(_claim_statement)
SYNCED_CONTACTS = LeanStatement(_synced_contacts_statement)


async def claim(
    engine: AsyncEngine, now: datetime, limit: int, lease_until: datetime
) -> list[Pending]:
    """Take up to ``limit`` pending contacts whose turn has come, earliest first, with what
    their HubSpot properties are made of; they are not due again before ``lease_until``.

    The lease is what brings a contact back when the worker sending it dies: until its
    answer is recorded, a contact stays pending. Lean statements: the sync reads every
    contact it sends, and SQLAlchemy's rows cost more than the reading.
    """
    async with LeanTransaction.begin(engine) as transaction:
        taken = await transaction.rows(
            CLAIM, {"now": now, "limit": limit, "lease_until": lease_until}
        )
        if not taken:
            return []
        # asyncpg's UUIDs are `uuid.UUID`s: equal, hashed alike, printed alike.
        queued = {row["contact_id"]: row for row in taken}
        contacts = await transaction.rows(SYNCED_CONTACTS, {"ids": list(queued)})
    found = []
    for contact in contacts:
        place = queued[contact["id"]]
        found.append(Pending(
            contact["id"], place["generation"], place["attempts"], place["resync_id"], contact,
            place["last_sent"],
        ))  # fmt: skip
    return found


async def record_done(
    connection: AsyncConnection,
    synced: Sequence[tuple[Pending, str]],
    failed: Sequence[tuple[Pending, str]],
    now: datetime,
    sent: Mapping[uuid.UUID, dict[str, str]] | None = None,
) -> None:
    """Contacts HubSpot wrote (with their HubSpot id) or refused (with its message); ``sent``,
    HubSpot's own properties as they now are there, by contact.

    A contact that changed while its sync was under way stays pending, due at once: the
    next sync sends the newer state. A backfill counts its contacts as they finish.
    """
    current = QUEUE.c.generation == bindparam("b_generation")
    if synced:
        await connection.execute(
            update(QUEUE)
            .where(QUEUE.c.contact_id == bindparam("b_contact_id"))
            .values(
                crm_id=bindparam("crm_id"),
                state=case((current, SYNCED), else_=PENDING),
                due_at=case((current, None), else_=now),
                synced_at=now, attempts=0, error=None, failed_at=None,
                last_sent=bindparam("last_sent"),
            ),
            [{"b_contact_id": p.contact_id, "b_generation": p.generation, "crm_id": crm_id,
              "last_sent": (sent or {}).get(p.contact_id, p.last_sent)}
             for p, crm_id in synced],
        )  # fmt: skip
    if failed:
        await connection.execute(
            update(QUEUE)
            .where(QUEUE.c.contact_id == bindparam("b_contact_id"))
            .values(
                state=case((current, FAILED), else_=PENDING),
                due_at=case((current, None), else_=now),
                error=bindparam("error"), failed_at=now, attempts=0,
            ),
            [{"b_contact_id": p.contact_id, "b_generation": p.generation, "error": message}
             for p, message in failed],
        )  # fmt: skip
    await _count_for_resyncs(connection, synced, failed, now)


async def _count_for_resyncs(
    connection: AsyncConnection,
    synced: Sequence[tuple[Pending, str]],
    failed: Sequence[tuple[Pending, str]],
    now: datetime,
) -> None:
    """Count the backfilled contacts that are now done (not those left pending because they
    changed meanwhile) towards their backfill, once."""
    ids = [p.contact_id for p, _ in (*synced, *failed) if p.resync_id is not None]
    if not ids:
        return
    finished = (
        QUEUE.c.contact_id.in_(ids),
        QUEUE.c.state != PENDING,
        QUEUE.c.resync_id.is_not(None),
    )
    counts = await connection.execute(
        select(QUEUE.c.resync_id, QUEUE.c.state, func.count())
        .where(*finished)
        .group_by(QUEUE.c.resync_id, QUEUE.c.state)
    )
    progress: dict[uuid.UUID, dict[str, int]] = {}
    for resync_id, state, count in counts:
        progress.setdefault(resync_id, {SYNCED: 0, FAILED: 0})[state] = count
    await connection.execute(update(QUEUE).where(*finished).values(resync_id=None))
    for resync_id, done in progress.items():
        progressed = RESYNCS.c.synced + RESYNCS.c.failed + done[SYNCED] + done[FAILED]
        await connection.execute(
            update(RESYNCS)
            .where(RESYNCS.c.id == resync_id)
            .values(
                synced=RESYNCS.c.synced + done[SYNCED],
                failed=RESYNCS.c.failed + done[FAILED],
                finished_at=case(
                    (progressed >= RESYNCS.c.total, func.coalesce(RESYNCS.c.finished_at, now)),
                    else_=None,
                ),
            )
        )


async def record_retry(
    connection: AsyncConnection, retries: Sequence[tuple[Pending, datetime]]
) -> None:
    """Contacts to try again at the given times, one more failed try counted."""
    if retries:
        await connection.execute(
            update(QUEUE)
            .where(QUEUE.c.contact_id == bindparam("b_contact_id"), QUEUE.c.state == PENDING)
            .values(attempts=QUEUE.c.attempts + 1, due_at=bindparam("due_at")),
            [{"b_contact_id": p.contact_id, "due_at": at} for p, at in retries],
        )


async def unlink(connection: AsyncConnection, crm_id: str) -> bool:
    """Forget a HubSpot id whose contact was deleted there, and stop sending its changes;
    False when no contact of ours has that id."""
    result = await connection.execute(
        update(QUEUE)
        .where(QUEUE.c.crm_id == crm_id)
        .values(
            crm_id=None, state=UNLINKED, due_at=None, attempts=0, error=None, failed_at=None,
            last_sent=None, resync_id=None,
        )
    )  # fmt: skip
    return bool(result.rowcount)
