"""Recompute the signals the ranking reads: co-visitation lift and click-through counts.

Both come from the events of a recent window and replace the previous ones whole, in one
transaction; the worker does it every `INBOUND_NBC_REFRESH_SECONDS`, `inbound nbc refresh`
on demand. A visitor is an anonymous id (or a user id, for events without one).
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.content.models import ContentAsset
from inbound.tracking.models import TrackingEvent
from inbound.tracking.nbc.blend import covisitation
from inbound.tracking.nbc.models import NbcClickThrough, NbcCovisit

EVENTS = TrackingEvent.__table__  # type: ignore[attr-defined]
ASSETS = ContentAsset.__table__  # type: ignore[attr-defined]
COVISITS = NbcCovisit.__table__  # type: ignore[attr-defined]
CLICK_THROUGH = NbcClickThrough.__table__  # type: ignore[attr-defined]
SHOWN, CLICKED = "Recommendation Shown", "Recommendation Clicked"
# One refresh at a time across processes (PostgreSQL); others skip their turn.
REFRESH_LOCK = 0x6E6263  # "nbc"
MAX_SLOT = 64


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What one refresh found and stored; None when another process was refreshing."""

    visitors: int
    pairs: int
    click_through: int


async def refresh_signals(
    connection: AsyncConnection, *, now: datetime, window_days: float, min_together: int
) -> Refreshed | None:
    """Recompute both signals from the window's events and store them, in the caller's
    transaction."""
    if connection.dialect.name == "postgresql":
        locked = await connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK}
        )
        if not locked:
            return None
    since = now - timedelta(days=window_days)
    histories = await _histories(connection, since)
    lift = covisitation(histories.values(), min_together=min_together)
    together = _together(histories.values(), lift)
    ctr = await _click_through(connection, since)
    await connection.execute(delete(COVISITS))
    await connection.execute(delete(CLICK_THROUGH))
    covisit_rows = [
        {"asset_id": a, "other_id": b, "lift": value, "together": together[a, b],
         "computed_at": now}
        for a, others in lift.items() for b, value in others.items()
    ]  # fmt: skip
    if covisit_rows:
        await connection.execute(insert(COVISITS), covisit_rows)
    ctr_rows = [
        {"slot": slot, "asset_id": asset_id, "shown": max(shown, clicked), "clicked": clicked,
         "computed_at": now}
        for (slot, asset_id), (shown, clicked) in ctr.items()
    ]  # fmt: skip
    if ctr_rows:
        await connection.execute(insert(CLICK_THROUGH), ctr_rows)
    return Refreshed(visitors=len(histories), pairs=len(covisit_rows), click_through=len(ctr_rows))


async def _histories(connection: AsyncConnection, since: datetime) -> dict[str, list[uuid.UUID]]:
    """Each visitor's content views in the window, oldest first."""
    visitor = func.coalesce(EVENTS.c.anonymous_id, EVENTS.c.user_id)
    query = (
        select(visitor, EVENTS.c.asset_id)
        .where(EVENTS.c.asset_id.is_not(None), EVENTS.c.occurred_at >= since, visitor.is_not(None))
        .order_by(EVENTS.c.occurred_at)
    )
    histories: dict[str, list[uuid.UUID]] = defaultdict(list)
    for who, asset_id in await connection.execute(query):
        histories[who].append(asset_id)
    return histories


def _together(
    histories: Any, lift: Mapping[uuid.UUID, Mapping[uuid.UUID, float]]
) -> Counter[tuple[uuid.UUID, uuid.UUID]]:
    """How many visitors viewed each kept pair (for the record beside the lift)."""
    counts: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
    for history in histories:
        distinct = set(history)
        for a in distinct:
            for b in lift.get(a, {}):
                if b in distinct:
                    counts[a, b] += 1
    return counts


async def _click_through(
    connection: AsyncConnection, since: datetime
) -> dict[tuple[str, uuid.UUID], tuple[int, int]]:
    """Impressions and clicks per (slot, asset) from the recommendation events."""
    refs: dict[str, uuid.UUID] = {}
    for asset_id, slug in await connection.execute(select(ASSETS.c.id, ASSETS.c.slug)):
        refs[slug] = refs[str(asset_id)] = asset_id
    query = select(EVENTS.c.event, EVENTS.c.properties).where(
        EVENTS.c.type == "track",
        EVENTS.c.event.in_((SHOWN, CLICKED)),
        EVENTS.c.occurred_at >= since,
    )
    shown: Counter[tuple[str, uuid.UUID]] = Counter()
    clicked: Counter[tuple[str, uuid.UUID]] = Counter()
    for event, properties in await connection.execute(query):
        slot = properties.get("slot") if isinstance(properties, dict) else None
        if not isinstance(slot, str) or not 0 < len(slot) <= MAX_SLOT:
            continue
        if event == SHOWN:
            named = properties.get("assets")
            for ref in set(named) if isinstance(named, list) else ():
                if isinstance(ref, str) and ref.lower() in refs:
                    shown[slot, refs[ref.lower()]] += 1
        else:
            ref = properties.get("asset")
            if isinstance(ref, str) and ref.lower() in refs:
                clicked[slot, refs[ref.lower()]] += 1
    return {key: (shown[key], clicked[key]) for key in shown.keys() | clicked.keys()}
