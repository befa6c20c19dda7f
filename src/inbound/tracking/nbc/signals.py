"""Recompute the signals the ranking reads: co-visitation lift and click-through counts.

Both come from the events of a recent window and replace the previous ones whole, in one
transaction; the lift is computed in the database, so a million events never leave it. The
worker refreshes every `INBOUND_NBC_REFRESH_SECONDS`, `inbound nbc refresh` on demand. A
visitor is an anonymous id (or a user id, for events without one).
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, bindparam, cast, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.content.models import ContentAsset
from inbound.tracking.models import TrackingEvent
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
    ctr = await _click_through(connection, since)
    await connection.execute(delete(COVISITS))
    await connection.execute(delete(CLICK_THROUGH))
    views = _content_views(since)
    visitors = await connection.scalar(select(func.count(func.distinct(views.c.visitor))))
    await connection.execute(_insert_lift(views, now, min_together))
    # Counted, not taken from the row count: SQLite reports none for INSERT ... SELECT.
    pairs = await connection.scalar(select(func.count()).select_from(COVISITS)) or 0
    ctr_rows = [
        {"slot": slot, "asset_id": asset_id, "shown": max(shown, clicked), "clicked": clicked,
         "computed_at": now}
        for (slot, asset_id), (shown, clicked) in ctr.items()
    ]  # fmt: skip
    if ctr_rows:
        await connection.execute(insert(CLICK_THROUGH), ctr_rows)
    return Refreshed(visitors=visitors or 0, pairs=pairs, click_through=len(ctr_rows))


def _content_views(since: datetime) -> Any:
    """Who viewed which asset in the window, each pair once."""
    visitor = func.coalesce(EVENTS.c.anonymous_id, EVENTS.c.user_id)
    return (
        select(visitor.label("visitor"), EVENTS.c.asset_id)
        .where(EVENTS.c.asset_id.is_not(None), EVENTS.c.occurred_at >= since, visitor.is_not(None))
        .distinct()
        .cte("views")
    )


def _insert_lift(views: Any, now: datetime, min_together: int) -> Any:
    """Lift n(a, b) * N / (n(a) * n(b)) for each pair seen together often enough, computed in
    the database: the same numbers as `blend.covisitation`, without moving the events out."""
    total = select(func.count(func.distinct(views.c.visitor))).scalar_subquery()
    alone = (
        select(views.c.asset_id, func.count().label("viewers"))
        .group_by(views.c.asset_id)
        .cte("alone")
    )
    a, b = views.alias("a"), views.alias("b")
    together = (
        select(a.c.asset_id, b.c.asset_id.label("other_id"), func.count().label("together"))
        .join_from(a, b, and_(a.c.visitor == b.c.visitor, a.c.asset_id != b.c.asset_id))
        .group_by(a.c.asset_id, b.c.asset_id)
        .having(func.count() >= min_together)
        .cte("together")
    )
    x, y = alone.alias("x"), alone.alias("y")
    lift = cast(together.c.together, Float) * total / (x.c.viewers * y.c.viewers)
    stamp = bindparam("computed_at", now, type_=COVISITS.c.computed_at.type)
    rows = select(
        together.c.asset_id, together.c.other_id, lift, together.c.together, stamp
    ).select_from(
        together.join(x, x.c.asset_id == together.c.asset_id).join(
            y, y.c.asset_id == together.c.other_id
        )
    )
    columns = ["asset_id", "other_id", "lift", "together", "computed_at"]
    return insert(COVISITS).from_select(columns, rows)


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
