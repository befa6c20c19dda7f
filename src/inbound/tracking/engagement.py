"""Engagement points from behaviour: page views and content views of known contacts.

Each scored event is a `score_events` row with the event's id, the event's own time and the
identity link it came through, so that a score can be explained, rebuilt and a link undone.
An event counts once per contact (a unique index says so). Caps are counted as captures count
them: the points a kind earned in the `cap_period_days` before the event. Points at an event's
time have decayed by now like every other point: the contact's score moves to now first.

A behaviour change writes lead events only when it moves the stage (an MQL by score): one
`lead.updated` per page view would drown the webhooks.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.db import new_id, table_of
from inbound.leads.events import INSERT_LEAD_EVENT, lead_events
from inbound.leads.lifecycle import promote_if_qualified
from inbound.leads.models import Contact, ScoreEvent, StageChange
from inbound.leads.qualification.evaluation import LeadSettings
from inbound.leads.qualification.scoring import decayed, points_for

CONTACTS = table_of(Contact)
SCORE_EVENTS = table_of(ScoreEvent)
STAGE_CHANGES = table_of(StageChange)
PAGE_VIEW, CONTENT_VIEW = "page_view", "content_view"
BEHAVIOUR_KINDS = (PAGE_VIEW, CONTENT_VIEW)
CONTENT_VIEWED = "Content Viewed"
# Who the stage changes behaviour makes are recorded as made by.
ENGAGEMENT_ACTOR = "engagement"


def activity_of(event_type: str, name: str | None, asset_id: uuid.UUID | None) -> str | None:
    """The kind of points an event earns: a content view (a `page`, or a `Content Viewed`
    track, about an asset that exists), a page view (any other `page`), or None: clicks,
    other tracks and identify calls are worth nothing, whatever asset they name."""
    if event_type == "page":
        return CONTENT_VIEW if asset_id is not None else PAGE_VIEW
    if event_type == "track" and name == CONTENT_VIEWED and asset_id is not None:
        return CONTENT_VIEW
    return None


@dataclass(frozen=True, slots=True)
class Scorable:
    """An event a known contact made, and the identity link that makes it the contact's."""

    event_id: uuid.UUID
    occurred_at: datetime
    activity: str
    merge_id: uuid.UUID | None


async def score_behaviour(
    connection: AsyncConnection,
    contact_id: uuid.UUID,
    events: Sequence[Scorable],
    settings: LeadSettings,
    now: datetime,
) -> int:
    """Give a contact the points of these events, under its row lock; how many ledger rows
    were written. Events it was already given, and events from the future, earn nothing."""
    state = await _lock(connection, contact_id)
    if state is None or not events:
        return 0
    fresh = await _not_yet_scored(connection, contact_id, events, now)
    if not fresh:
        return 0
    ledger = await _ledger_rows(connection, contact_id, fresh, settings)
    rows: list[dict[str, Any]] = []
    for event in sorted(fresh, key=lambda e: (e.occurred_at, e.event_id)):
        rule = getattr(settings.scoring.activities, event.activity)
        since = event.occurred_at - timedelta(days=rule.cap_period_days)
        earned = sum(
            points for kind, points, at in ledger
            if kind == event.activity and since <= at <= event.occurred_at
        )  # fmt: skip
        points, capped = points_for(event.activity, earned, settings.scoring)
        ledger.append((event.activity, points, event.occurred_at))
        rows.append(
            {"id": new_id(), "contact_id": contact_id, "kind": event.activity, "points": points,
             "capped": capped, "capture_id": None, "event_id": event.event_id,
             "merge_id": event.merge_id, "created_at": event.occurred_at}
        )  # fmt: skip
    await connection.execute(SCORE_EVENTS.insert(), rows)
    half_life = settings.scoring.half_life_days
    gained = sum(decayed(r["points"], r["created_at"], now, half_life) for r in rows)
    await _rescore(connection, state, gained, settings, now)
    return len(rows)


async def take_back(
    connection: AsyncConnection, contact_id: uuid.UUID, merge_id: uuid.UUID,
    settings: LeadSettings, now: datetime,
) -> float:  # fmt: skip
    """Remove the points an identity link brought, as they stand now; how many that was."""
    state = await _lock(connection, contact_id)
    if state is None:
        return 0.0
    brought = (
        await connection.execute(
            select(SCORE_EVENTS.c.points, SCORE_EVENTS.c.created_at).where(
                SCORE_EVENTS.c.contact_id == contact_id, SCORE_EVENTS.c.merge_id == merge_id
            )
        )
    ).all()
    half_life = settings.scoring.half_life_days
    lost = sum(decayed(points, at, now, half_life) for points, at in brought)
    await connection.execute(
        SCORE_EVENTS.delete().where(
            SCORE_EVENTS.c.contact_id == contact_id, SCORE_EVENTS.c.merge_id == merge_id
        )
    )
    await _rescore(connection, state, -lost, settings, now)
    return lost


async def _lock(connection: AsyncConnection, contact_id: uuid.UUID) -> dict[str, Any] | None:
    statement = select(CONTACTS).where(CONTACTS.c.id == contact_id).with_for_update()
    row = (await connection.execute(statement)).mappings().one_or_none()
    return dict(row) if row is not None else None


async def _not_yet_scored(
    connection: AsyncConnection, contact_id: uuid.UUID, events: Sequence[Scorable], now: datetime
) -> list[Scorable]:
    ids = list({event.event_id for event in events})
    scored = set(
        (
            await connection.execute(
                select(SCORE_EVENTS.c.event_id).where(
                    SCORE_EVENTS.c.contact_id == contact_id, SCORE_EVENTS.c.event_id.in_(ids)
                )
            )
        ).scalars()
    )
    unique = {event.event_id: event for event in events if event.occurred_at <= now}
    return [event for event_id, event in unique.items() if event_id not in scored]


async def _ledger_rows(
    connection: AsyncConnection,
    contact_id: uuid.UUID,
    events: Sequence[Scorable],
    settings: LeadSettings,
) -> list[tuple[str, float, datetime]]:
    """The contact's behaviour points that the events' cap periods reach back to."""
    kinds = {event.activity for event in events}
    longest = max(getattr(settings.scoring.activities, kind).cap_period_days for kind in kinds)
    since = min(event.occurred_at for event in events) - timedelta(days=longest)
    statement = select(SCORE_EVENTS.c.kind, SCORE_EVENTS.c.points, SCORE_EVENTS.c.created_at).where(
        SCORE_EVENTS.c.contact_id == contact_id,
        SCORE_EVENTS.c.kind.in_(kinds),
        SCORE_EVENTS.c.created_at >= since,
    )
    return [(kind, points, at) for kind, points, at in (await connection.execute(statement)).all()]


async def _rescore(
    connection: AsyncConnection,
    state: dict[str, Any],
    change: float,
    settings: LeadSettings,
    now: datetime,
) -> None:
    """Move the locked contact's score to now plus ``change``; make it an MQL if it now
    qualifies, with its stage change and lead events."""
    before = dict(state)
    half_life = settings.scoring.half_life_days
    score = max(decayed(state["score"], state["score_at"], now, half_life) + change, 0.0)
    state.update(score=score, score_at=now, updated_at=now, version=state["version"] + 1)
    stage_changes = promote_if_qualified(state, settings, now=now, actor=ENGAGEMENT_ACTOR)
    changed = {
        name: state[name] for name, value in before.items()
        if name not in ("id", "change_seq") and state[name] != value
    }  # fmt: skip
    await connection.execute(CONTACTS.update().where(CONTACTS.c.id == state["id"]).values(changed))
    if stage_changes:
        await connection.execute(STAGE_CHANGES.insert(), stage_changes)
        events = lead_events(
            before, state, score=score, at=now, stage_changes=stage_changes, changes=["score"]
        )
        statement = INSERT_LEAD_EVENT.statement(connection.dialect)
        await connection.execute(statement, _plain(events))


def _plain(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]
