"""The SQL of the CRM sync: contacts claimed for a call and released with its outcome, the
sync's state row (whose turn it is, what HubSpot last said), erasures to carry out, and the
reads the status shows."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Uuid, any_, bindparam, case, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.expression import Executable

from inbound.content.models import ContentAsset
from inbound.crm.models import FAILED, PENDING, SYNCED, CrmErasure, CrmResync, CrmSyncState
from inbound.crm.queue import CONTACTS, QUEUE
from inbound.db import dialect_insert_for, table_of
from inbound.personas.models import Persona
from inbound.sites.models import Site

STATE = table_of(CrmSyncState)
RESYNCS = table_of(CrmResync)
ERASURES = table_of(CrmErasure)
ERASURES_PER_ROUND = 50
FAILURES_SHOWN = 20

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


@cache
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


@cache
def _synced_contacts_statement(dialect: str) -> Executable:
    personas = table_of(Persona)
    first_asset = table_of(ContentAsset).alias("first_asset")
    first_site = table_of(Site).alias("first_site")
    if dialect == "postgresql":
        chosen = CONTACTS.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(Uuid())))
    else:
        chosen = CONTACTS.c.id.in_(bindparam("ids", expanding=True))
    return (
        select(
            *(CONTACTS.c[name] for name in SYNCED_COLUMNS),
            personas.c.slug.label("persona_slug"),
            first_asset.c.slug.label("first_asset_slug"),
            first_site.c.name.label("first_site_name"),
        )
        .select_from(
            CONTACTS.outerjoin(personas, personas.c.id == CONTACTS.c.persona_id)
            .outerjoin(first_asset, first_asset.c.id == CONTACTS.c.first_asset_id)
            .outerjoin(first_site, first_site.c.id == CONTACTS.c.first_site_id)
        )
        .where(chosen)
    )


async def claim(
    engine: AsyncEngine, now: datetime, limit: int, lease_until: datetime
) -> list[Pending]:
    """Take up to ``limit`` pending contacts whose turn has come, earliest first, with what
    their HubSpot properties are made of; they are not due again before ``lease_until``.

    The lease is what brings a contact back when the worker sending it dies: until its
    answer is recorded, a contact stays pending.
    """
    async with engine.begin() as connection:
        dialect = connection.dialect.name
        taken = await connection.execute(
            _claim_statement(dialect), {"now": now, "limit": limit, "lease_until": lease_until}
        )
        queued = {row.contact_id: row for row in taken}
        if not queued:
            return []
        contacts = await connection.execute(
            _synced_contacts_statement(dialect), {"ids": list(queued)}
        )
        found = []
        for contact in contacts.mappings():
            place = queued[contact["id"]]
            found.append(Pending(
                contact["id"], place.generation, place.attempts, place.resync_id, dict(contact),
                place.last_sent,
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


# The sync's state row: one, with id 1.


async def take_turn(connection: AsyncConnection, name: str, now: datetime, until: datetime) -> bool:
    """Hold, or renew, the turn to sync for ``name``; False while another holds it."""
    taken = await connection.execute(
        update(STATE)
        .where(STATE.c.id == 1)
        .where(or_(STATE.c.leader.is_(None), STATE.c.leader == name, STATE.c.leader_until < now))
        .values(leader=name, leader_until=until)
    )
    if taken.rowcount:
        return True
    return await ensure_state_row(connection, leader=name, leader_until=until)


async def ensure_state_row(connection: AsyncConnection, **values: Any) -> bool:
    """Make the state row, with ``values``, unless it exists; whether it was made."""
    created = await connection.execute(
        dialect_insert_for(connection, STATE)
        .values(id=1, schema_version=0, rate_limit={}, **values)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return bool(created.rowcount)


async def renew_turn(connection: AsyncConnection, name: str, until: datetime) -> None:
    """Hold the turn until ``until``, if ``name`` still holds it."""
    await connection.execute(
        update(STATE).where(STATE.c.id == 1, STATE.c.leader == name).values(leader_until=until)
    )


async def note(connection: AsyncConnection, values: Mapping[str, Any]) -> None:
    """Write what the status shows (HubSpot's last answer, the schema's version)."""
    await connection.execute(update(STATE).where(STATE.c.id == 1).values(dict(values)))


async def schema_version(connection: AsyncConnection) -> int | None:
    """The version of our HubSpot properties last set up, if any."""
    found: int | None = await connection.scalar(
        select(STATE.c.schema_version).where(STATE.c.id == 1)
    )
    return found


# Erasures


async def due_erasures(connection: AsyncConnection, now: datetime) -> Sequence[Any]:
    """The erasures to carry out in HubSpot whose turn has come, earliest first."""
    result = await connection.execute(
        select(ERASURES.c.id, ERASURES.c.email, ERASURES.c.crm_id, ERASURES.c.attempts)
        .where(ERASURES.c.done_at.is_(None), ERASURES.c.due_at <= now)
        .order_by(ERASURES.c.due_at)
        .limit(ERASURES_PER_ROUND)
    )
    return result.all()


async def record_erasure(
    connection: AsyncConnection, erasure_id: uuid.UUID, values: Mapping[str, Any]
) -> None:
    """An erasure's try: done, or due again."""
    await connection.execute(
        update(ERASURES).where(ERASURES.c.id == erasure_id).values(dict(values))
    )


# What the status shows


async def status_reads(session: AsyncSession, now: datetime) -> dict[str, Any]:
    """Contacts by state, those due, the latest failures, erasures left, and the state row."""
    by_state = await session.execute(
        select(QUEUE.c.state, func.count().label("contacts")).group_by(QUEUE.c.state)
    )
    due = await session.scalar(
        select(func.count()).where(QUEUE.c.state == PENDING, QUEUE.c.due_at <= now)
    )
    failures = (
        await session.execute(
            select(
                QUEUE.c.contact_id.label("lead_id"), CONTACTS.c.email, QUEUE.c.error,
                QUEUE.c.failed_at,
            )
            .join(CONTACTS, CONTACTS.c.id == QUEUE.c.contact_id)
            .where(QUEUE.c.state == FAILED)
            .order_by(QUEUE.c.failed_at.desc())
            .limit(FAILURES_SHOWN)
        )
    ).mappings().all()  # fmt: skip
    erasures = await session.scalar(
        select(func.count()).select_from(ERASURES).where(ERASURES.c.done_at.is_(None))
    )
    state = (await session.execute(select(STATE).where(STATE.c.id == 1))).mappings().first()
    return {
        "counts": {row.state: row.contacts for row in by_state.all()},
        "due": due or 0,
        "failures": [dict(row) for row in failures],
        "erasures_pending": erasures or 0,
        "state": dict(state) if state is not None else {},
    }
