"""The worker's side of identity and engagement: link identify calls, score the past events of
new links, and score the events of known ids the writer queued.

Each round runs in transactions of its own. A transaction that links an id locks its one
contact first, as a capture does, and then writes the link: a capture and a link never wait
on each other in a circle. Scoring queued events locks their contacts in id order and links
nothing.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from inbound.db import table_of, utcnow
from inbound.leads.qualification.evaluation import LeadSettings
from inbound.leads.service import LeadSettingsService
from inbound.tracking.engagement import (
    CONTACTS,
    CONTENT_VIEWED,
    Scorable,
    activity_of,
    score_behaviour,
)
from inbound.tracking.hooks import ACTIVITY, IDENTIFY, TASKS
from inbound.tracking.identity_sql import (
    IDENTITIES,
    MERGES,
    IdKind,
    LinkRequest,
    MergeCause,
    MergeOutcome,
    link,
    owner_of,
)
from inbound.tracking.models import TrackingEvent

EVENTS = table_of(TrackingEvent)
BATCH = 500
MERGES_PER_ROUND = 50
# The newest events of an id that a new link scores: enough for every cap period, while an
# id a crawler shared with millions of pages cannot hold a contact's lock for long.
BACKFILL_LIMIT = 5_000

Sessions = async_sessionmaker[AsyncSession]


async def engagement_step(sessions: Sessions) -> int:
    """One round: identify calls, new links' past events, then queued events; how many
    tasks and links were handled."""
    return (
        await identify_round(sessions) + await backfill_round(sessions)
        + await activity_round(sessions)
    )  # fmt: skip


async def identify_round(sessions: Sessions) -> int:
    """Link the queued identify calls, each in a transaction of its own."""
    handled = 0
    for _ in range(BATCH):
        async with sessions() as session, session.begin():
            connection = await session.connection()
            task = await _claim_one(connection, IDENTIFY)
            if task is None:
                break
            await _identify(connection, task, await LeadSettingsService(session).current())
            await connection.execute(TASKS.delete().where(TASKS.c.id == task["id"]))
            handled += 1
    return handled


async def backfill_round(sessions: Sessions) -> int:
    """Score the past events of ids captures linked, one link per transaction."""
    handled = 0
    for _ in range(MERGES_PER_ROUND):
        async with sessions() as session, session.begin():
            connection = await session.connection()
            statement = (
                select(MERGES)
                .where(
                    MERGES.c.outcome == MergeOutcome.LINKED,
                    MERGES.c.scored_at.is_(None),
                    MERGES.c.undone_at.is_(None),
                )
                .order_by(MERGES.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            merge = (await connection.execute(statement)).mappings().first()
            if merge is None:
                break
            settings = await LeadSettingsService(session).current()
            await backfill(connection, dict(merge), settings, utcnow())
            handled += 1
    return handled


async def activity_round(sessions: Sessions) -> int:
    """Score a batch of queued events of known ids, in one transaction."""
    async with sessions() as session, session.begin():
        connection = await session.connection()
        statement = (
            select(TASKS)
            .where(TASKS.c.task == ACTIVITY)
            .order_by(TASKS.c.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        tasks = [dict(row) for row in (await connection.execute(statement)).mappings()]
        if not tasks:
            return 0
        owners = await _owners(connection, tasks)
        by_contact: dict[uuid.UUID, list[Scorable]] = defaultdict(list)
        for task in tasks:
            found = owners.get((IdKind.ANONYMOUS, task["anonymous_id"])) or owners.get(
                (IdKind.USER, task["user_id"])
            )
            if found is not None:  # unlinked since it was queued: nobody's points
                contact_id, merge_id = found
                by_contact[contact_id].append(
                    Scorable(task["event_id"], task["occurred_at"], task["activity"], merge_id)
                )
        settings = await LeadSettingsService(session).current()
        now = utcnow()
        for contact_id in sorted(by_contact):  # one lock order for every worker
            await score_behaviour(connection, contact_id, by_contact[contact_id], settings, now)
        await connection.execute(TASKS.delete().where(TASKS.c.id.in_([t["id"] for t in tasks])))
        return len(tasks)


async def backfill(
    connection: AsyncConnection, merge: dict[str, Any], settings: LeadSettings, now: datetime
) -> int:
    """Give the contact the points of the linked id's earlier events; mark the link scored."""
    column = EVENTS.c.anonymous_id if merge["kind"] == IdKind.ANONYMOUS else EVENTS.c.user_id
    statement = (
        select(EVENTS.c.id, EVENTS.c.occurred_at, EVENTS.c.type, EVENTS.c.event,
               EVENTS.c.asset_id)
        .where(
            column == merge["external_id"],
            # What `activity_of` scores: every page, and content views of an asset.
            or_(
                EVENTS.c.type == "page",
                and_(
                    EVENTS.c.type == "track",
                    EVENTS.c.event == CONTENT_VIEWED,
                    EVENTS.c.asset_id.is_not(None),
                ),
            ),
        )
        .order_by(EVENTS.c.occurred_at.desc())
        .limit(BACKFILL_LIMIT)
    )  # fmt: skip
    events = [
        Scorable(event_id, at, activity, merge["id"])
        for event_id, at, event_type, name, asset_id in (await connection.execute(statement))
        if (activity := activity_of(event_type, name, asset_id)) is not None
    ]
    written = await score_behaviour(connection, merge["contact_id"], events, settings, now)
    await connection.execute(
        MERGES.update().where(MERGES.c.id == merge["id"]).values(scored_at=now)
    )
    return written


async def _identify(
    connection: AsyncConnection, task: dict[str, Any], settings: LeadSettings
) -> None:
    """Link an identify call's ids to the contact its email, or its known userId, names.

    An email no contact has links nothing and makes no contact: contacts come from captures,
    and a public key must not be able to make them.
    """
    contact_id = None
    if task["email"] is not None:
        contact_id = await _lock_by_email(connection, task["email"])
    elif task["user_id"]:
        contact_id = await owner_of(connection, IdKind.USER, task["user_id"])
        contact_id = contact_id if await _lock(connection, contact_id) else None
    if contact_id is None:
        return
    now = utcnow()
    ids = [(IdKind.ANONYMOUS, task["anonymous_id"]), (IdKind.USER, task["user_id"])]
    for kind, external_id in sorted((k, e) for k, e in ids if e):  # one insert order for all
        request = LinkRequest(
            contact_id, kind, external_id, MergeCause.IDENTIFY, now,
            message_id=task["message_id"],
        )  # fmt: skip
        merge = await link(connection, request)
        if merge is not None and merge["outcome"] == MergeOutcome.LINKED:
            await backfill(connection, merge, settings, now)


async def _claim_one(connection: AsyncConnection, task: str) -> dict[str, Any] | None:
    statement = (
        select(TASKS)
        .where(TASKS.c.task == task)
        .order_by(TASKS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await connection.execute(statement)).mappings().first()
    return dict(row) if row is not None else None


async def _lock_by_email(connection: AsyncConnection, email: str) -> uuid.UUID | None:
    statement = select(CONTACTS.c.id).where(CONTACTS.c.email == email).with_for_update()
    found: uuid.UUID | None = (await connection.execute(statement)).scalar_one_or_none()
    return found


async def _lock(connection: AsyncConnection, contact_id: uuid.UUID | None) -> bool:
    if contact_id is None:
        return False
    statement = select(CONTACTS.c.id).where(CONTACTS.c.id == contact_id).with_for_update()
    return (await connection.execute(statement)).first() is not None


async def _owners(
    connection: AsyncConnection, tasks: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID | None]]:
    """The contact and link of each of the tasks' ids that is linked now."""
    anonymous = {t["anonymous_id"] for t in tasks if t["anonymous_id"]}
    users = {t["user_id"] for t in tasks if t["user_id"]}
    statement = select(
        IDENTITIES.c.kind, IDENTITIES.c.external_id, IDENTITIES.c.contact_id,
        IDENTITIES.c.merge_id,
    ).where(
        or_(
            and_(IDENTITIES.c.kind == IdKind.ANONYMOUS, IDENTITIES.c.external_id.in_(anonymous)),
            and_(IDENTITIES.c.kind == IdKind.USER, IDENTITIES.c.external_id.in_(users)),
        )
    )  # fmt: skip
    return {
        (kind, external_id): (contact_id, merge_id)
        for kind, external_id, contact_id, merge_id in await connection.execute(statement)
    }
