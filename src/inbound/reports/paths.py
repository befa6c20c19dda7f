"""Top paths into capture: the last few things a visitor viewed before giving its email.

For each capture inside the period whose visitor left behaviour before it (events under the
capture's `visitor_id`, or under any id linked to the capture's contact), the last up to
`STEPS` content assets or pages it viewed in the `LOOKBACK_DAYS` before, oldest first, then the
asset captured. Views of the same asset or page one after the other count once. One statement
does it all in the database and answers only the top paths: reading every capture's views
into Python and matching them there took a hundred times longer on the demo's year.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, case, cast, func, literal, select, union, union_all
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


def _sources(query: PathQuery) -> Any:
    """Each capture in the period with each id its visitor had: the capture's own anonymous
    id, and every id linked to its contact."""
    in_period = (CAPTURES.c.created_at >= query.start, CAPTURES.c.created_at < query.end)
    own = select(
        CAPTURES.c.id.label("capture_id"),
        CAPTURES.c.created_at.label("captured_at"),
        literal("anonymous").label("kind"),
        CAPTURES.c.visitor_id.label("external_id"),
    ).where(*in_period, CAPTURES.c.visitor_id.is_not(None))
    linked = (
        select(CAPTURES.c.id, CAPTURES.c.created_at, IDENTITIES.c.kind, IDENTITIES.c.external_id)
        .join(IDENTITIES, IDENTITIES.c.contact_id == CAPTURES.c.contact_id)
        .where(*in_period)
    )
    return union(own, linked).subquery("sources")


def _views(query: PathQuery, dialect: str) -> Any:
    """The content and page views in the lookback before each capture: a row per capture,
    event and id of the visitor's it was sent under."""
    sources = _sources(query)
    since = (
        sources.c.captured_at - func.make_interval(0, 0, 0, LOOKBACK_DAYS)
        if dialect == "postgresql"
        # SQLite keeps times as text that sorts as time: the same form, 90 days earlier.
        else func.strftime("%Y-%m-%d %H:%M:%f", sources.c.captured_at, f"-{LOOKBACK_DAYS} days")
    )
    is_asset = EVENTS.c.asset_id.is_not(None)
    key = case(
        (is_asset, literal("asset:") + cast(EVENTS.c.asset_id, Text)),
        else_=literal("page:") + EVENTS.c.url,
    )
    columns = (sources.c.capture_id, EVENTS.c.id.label("event_id"), EVENTS.c.occurred_at,
               key.label("step"), EVENTS.c.title)  # fmt: skip
    viewed = and_(
        EVENTS.c.occurred_at < sources.c.captured_at,
        EVENTS.c.occurred_at >= since,
        # The same bound as a constant, so that PostgreSQL reads only the months it needs.
        EVENTS.c.occurred_at >= _lookback_from(query.start),
        is_asset | ((EVENTS.c.type == "page") & EVENTS.c.url.is_not(None)),
    )
    # One join per kind of id, so that each can use its index on (id, time).
    by_anonymous = (sources.c.kind == "anonymous") & (
        EVENTS.c.anonymous_id == sources.c.external_id
    )
    by_user = (sources.c.kind == "user") & (EVENTS.c.user_id == sources.c.external_id)
    # UNION ALL: an event sent under two of a visitor's ids comes twice, one right after the
    # other in time and with the same step, and the repeat rule drops the second.
    return union_all(
        select(*columns).join_from(sources, EVENTS, and_(by_anonymous, viewed)),
        select(*columns).join_from(sources, EVENTS, and_(by_user, viewed)),
    ).subquery("views")


def paths_statement(query: PathQuery, dialect: str) -> Any:
    """The top paths: (step 1, its title, step 2, ..., captured asset, count, captures with
    behaviour); step 1 the oldest shown, null steps where a path is shorter."""
    views = _views(query, dialect)
    order = (views.c.occurred_at, views.c.event_id)
    previous = func.lag(views.c.step).over(partition_by=views.c.capture_id, order_by=order)
    marked = select(views, previous.label("previous")).subquery("marked")
    place = func.row_number().over(
        partition_by=marked.c.capture_id,
        order_by=(marked.c.occurred_at.desc(), marked.c.event_id.desc()),
    )
    kept = (
        select(marked.c.capture_id, marked.c.step, marked.c.title, place.label("place"))
        .where(marked.c.previous.is_(None) | (marked.c.previous != marked.c.step))
        .subquery("kept")
    )
    # Place 1 is the view just before the capture: the last step of the path.
    steps = [
        (func.max(case((kept.c.place == n, kept.c.step))).label(f"step_{n}"),
         func.max(case((kept.c.place == n, kept.c.title))).label(f"title_{n}"))
        for n in range(STEPS, 0, -1)
    ]  # fmt: skip
    per_capture = (
        select(kept.c.capture_id, *(column for pair in steps for column in pair))
        .where(kept.c.place <= STEPS)
        .group_by(kept.c.capture_id)
        .subquery("per_capture")
    )
    step_columns = [per_capture.c[f"step_{n}"] for n in range(STEPS, 0, -1)]
    count = func.count()
    return (
        select(
            *step_columns,
            *(func.max(per_capture.c[f"title_{n}"]) for n in range(STEPS, 0, -1)),
            CAPTURES.c.asset_id,
            count,
            func.sum(count).over().label("with_behaviour"),
        )
        .join_from(per_capture, CAPTURES, CAPTURES.c.id == per_capture.c.capture_id)
        .group_by(*step_columns, CAPTURES.c.asset_id)
        .order_by(count.desc(), *step_columns, CAPTURES.c.asset_id)
        .limit(query.limit)
    )


async def path_figures(session: AsyncSession, query: PathQuery) -> PathFigures:
    """How many captures the period has, how many had views before, and the top paths."""
    dialect = session.get_bind().dialect.name
    captures = await session.scalar(
        select(func.count()).where(CAPTURES.c.created_at >= query.start,
                                   CAPTURES.c.created_at < query.end)
    )  # fmt: skip
    figures = PathFigures(captures=int(captures or 0))
    for row in await session.execute(paths_statement(query, dialect)):
        refs, titles = row[:STEPS], row[STEPS : 2 * STEPS]
        captured, count, figures.with_behaviour = row[2 * STEPS :]
        steps = tuple(_step(ref) for ref in refs if ref is not None)
        for ref, title in zip(refs, titles, strict=True):
            if ref is not None and ref.startswith("page:") and title:
                figures.page_titles[ref.removeprefix("page:")] = title
        figures.paths.append(Path(steps, captured, int(count)))
    return figures


def _step(ref: str) -> Step:
    kind, _, value = ref.partition(":")
    return Step(uuid.UUID(value), None) if kind == "asset" else Step(None, value)


def _lookback_from(start: datetime) -> datetime:
    """``LOOKBACK_DAYS`` before ``start``, or the first instant there is for a period that
    starts in the year 1."""
    earliest = datetime.min.replace(tzinfo=UTC)
    lookback = timedelta(days=LOOKBACK_DAYS)
    return start - lookback if start - earliest > lookback else earliest
