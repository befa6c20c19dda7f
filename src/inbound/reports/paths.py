"""Top paths into capture: the last few things a visitor viewed before giving its email.

For each capture inside the period whose visitor left behaviour before it (events under the
capture's `visitor_id`, or under any id linked to the capture's contact), the last up to
`STEPS` content assets or pages it viewed in the `LOOKBACK_DAYS` before, oldest first, then the
asset captured. Views of the same asset or page one after the other count once. Three plain
statements read the period's captures, their contacts' linked ids and those ids' views (each
kind of id by its index on (id, time)); the matching and counting is done here, per visitor,
which costs far less than window functions over every capture's views in SQL.
"""

import uuid
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.leads.repository import CAPTURES
from inbound.tracking.models import VisitorIdentity
from inbound.tracking.repository import EVENTS

STEPS = 3
LOOKBACK_DAYS = 90
IDENTITIES = table_of(VisitorIdentity)


@dataclass(frozen=True, slots=True)
class PathQuery:
    start: datetime
    end: datetime  # exclusive
    limit: int = 10


@dataclass(frozen=True, slots=True)
class Step:
    """A content asset (by id) or a page without one (by URL)."""

    asset_id: uuid.UUID | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Path:
    steps: tuple[Step, ...]
    captured: uuid.UUID
    count: int


@dataclass(slots=True)
class PathFigures:
    captures: int = 0  # inside the period
    with_behaviour: int = 0  # of those, with a view before
    paths: list[Path] = field(default_factory=list)  # the most frequent first, up to the limit
    page_titles: dict[str, str] = field(default_factory=dict)  # a page's latest title, by URL


def _captures(query: PathQuery) -> Any:
    return select(
        CAPTURES.c.id, CAPTURES.c.created_at, CAPTURES.c.asset_id, CAPTURES.c.contact_id,
        CAPTURES.c.visitor_id,
    ).where(CAPTURES.c.created_at >= query.start, CAPTURES.c.created_at < query.end)  # fmt: skip


def _linked(query: PathQuery) -> Any:
    """Every id linked to a contact that captured inside the period."""
    contacts = _captures(query).with_only_columns(CAPTURES.c.contact_id)
    return select(IDENTITIES.c.contact_id, IDENTITIES.c.kind, IDENTITIES.c.external_id).where(
        IDENTITIES.c.contact_id.in_(contacts)
    )


def _views(query: PathQuery) -> Any:
    """Content and page views that may come before a capture of the period, by any of the ids
    its visitor had; by time (each kind of id can use its index on (id, time))."""
    captures = _captures(query)
    anonymous = captures.with_only_columns(CAPTURES.c.visitor_id).where(
        CAPTURES.c.visitor_id.is_not(None)
    )
    linked = _linked(query).subquery("linked")
    linked_ids = select(linked.c.external_id)
    by_id = or_(
        EVENTS.c.anonymous_id.in_(anonymous),
        EVENTS.c.anonymous_id.in_(linked_ids.where(linked.c.kind == "anonymous")),
        EVENTS.c.user_id.in_(linked_ids.where(linked.c.kind == "user")),
    )
    return (
        select(EVENTS.c.anonymous_id, EVENTS.c.user_id, EVENTS.c.occurred_at, EVENTS.c.id,
               EVENTS.c.asset_id, EVENTS.c.url, EVENTS.c.title)
        .where(
            EVENTS.c.occurred_at >= query.start - timedelta(days=LOOKBACK_DAYS),
            EVENTS.c.occurred_at < query.end,
            EVENTS.c.asset_id.is_not(None) | (EVENTS.c.type == "page"),
            by_id,
        )
        .order_by(EVENTS.c.occurred_at, EVENTS.c.id)
    )  # fmt: skip


View = tuple[datetime, uuid.UUID, Step]


async def path_figures(session: AsyncSession, query: PathQuery) -> PathFigures:
    """How many captures the period has, how many had views before, and the top paths."""
    captures = (await session.execute(_captures(query))).all()
    linked: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)
    for contact_id, kind, external_id in await session.execute(_linked(query)):
        linked[contact_id].append((kind, external_id))
    views: dict[tuple[str, str], list[View]] = defaultdict(list)
    titles: dict[str, str] = {}
    for row in await session.execute(_views(query)):
        step = Step(row.asset_id, None if row.asset_id else row.url)
        if row.asset_id is None and row.url and row.title:
            titles[row.url] = row.title
        view = (row.occurred_at, row.id, step)
        if row.anonymous_id is not None:
            views["anonymous", row.anonymous_id].append(view)
        if row.user_id is not None:
            views["user", row.user_id].append(view)
    counts: Counter[tuple[tuple[Step, ...], uuid.UUID]] = Counter()
    with_behaviour = 0
    for _, captured_at, asset_id, contact_id, visitor_id in captures:
        ids = set(linked.get(contact_id, ()))
        if visitor_id is not None:
            ids.add(("anonymous", visitor_id))
        steps = _last_steps([views[key] for key in ids if key in views], captured_at)
        if steps:
            with_behaviour += 1
            counts[steps, asset_id] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], _sort_key(*item[0])))
    return PathFigures(
        captures=len(captures),
        with_behaviour=with_behaviour,
        paths=[Path(steps, captured, count) for (steps, captured), count in ranked[: query.limit]],
        page_titles=titles,
    )


def _last_steps(timelines: list[list[View]], captured_at: datetime) -> tuple[Step, ...]:
    """The last `STEPS` views before ``captured_at`` (within the lookback) over the visitor's
    ids, views of one asset or page in a row counted once; oldest first."""
    since = captured_at - timedelta(days=LOOKBACK_DAYS)
    before: dict[uuid.UUID, View] = {}
    for timeline in timelines:
        end = bisect_left(timeline, captured_at, key=lambda view: view[0])
        start = bisect_left(timeline, since, hi=end, key=lambda view: view[0])
        for view in timeline[start:end]:
            before[view[1]] = view
    steps: list[Step] = []
    for _, _, step in sorted(before.values(), key=lambda view: (view[0], view[1]), reverse=True):
        if steps and steps[-1] == step:
            continue
        steps.append(step)
        if len(steps) == STEPS + 1:
            break
    # The walk went backwards; one extra step was read to know the last kept one is not
    # repeated further back: it was, only if it equals the one after it, already collapsed.
    return tuple(reversed(steps[:STEPS]))


def _sort_key(steps: tuple[Step, ...], captured: uuid.UUID) -> tuple[str, ...]:
    return (*(str(step.asset_id or step.url) for step in steps), str(captured))
