"""Time between stages: the median and 90th percentile of `reached_at(B) - reached_at(A)`.

Percentiles interpolate linearly between the two nearest durations (PostgreSQL's
`percentile_cont`); SQLite has no such aggregate, so there the durations are read and the
same computation runs in Python.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, text, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import seconds_between
from inbound.leads.stages import LifecycleStage
from inbound.reports.query import Measured, Mode, ReportQuery, counted, grouped, reached

MEDIAN, P90 = 0.5, 0.9

Span = tuple[LifecycleStage, LifecycleStage]


@dataclass(frozen=True, slots=True)
class SpanFigures:
    """How long contacts took from one stage to a later one, in seconds."""

    contacts: int
    median: float | None
    p90: float | None


EMPTY = SpanFigures(0, None, None)


def spans(stages: Sequence[LifecycleStage]) -> list[Span]:
    """Each stage to the next, then the first stage to each stage after the next."""
    return [*pairwise(stages), *((stages[0], later) for later in stages[2:])]


def _timed(query: ReportQuery, span: Span, dialect: str) -> ColumnElement[bool]:
    """A contact whose time from one stage to the other counts: it reached the later one as
    the report counts stages (by now or within the window in cohort mode, inside the period
    in period mode), and the earlier one at all."""
    earlier, later = span
    return and_(counted(query, later, dialect), reached(earlier).is_not(None))


async def velocity(session: AsyncSession, query: ReportQuery) -> Measured[list[SpanFigures]]:
    """Per group (the breakdown's column values), the figures of each span, in `spans` order;
    also those of all contacts when they came in the same pass."""
    dialect = session.get_bind().dialect.name
    chosen = spans(query.stages)
    durations = [
        case((_timed(query, span, dialect), seconds_between(reached(span[1]), reached(span[0]),
                                                               dialect)))
        for span in chosen
    ]  # fmt: skip
    later_stages = [later for _, later in chosen]
    if dialect == "postgresql":
        return await _percentiles(session, query, durations)
    statement, width = grouped(query, dialect, durations, later_stages, aggregate=False)
    collected: dict[tuple[Any, ...], list[list[float]]] = {}
    for row in (await session.execute(statement)).all():
        lists = collected.setdefault(tuple(row[:width]), [[] for _ in chosen])
        for found, seconds in zip(lists, row[width:], strict=True):
            if seconds is not None:
                found.append(float(seconds))
    return Measured(
        groups=[
            (key, [_computed(sorted(found)) for found in lists]) for key, lists in collected.items()
        ]
    )


async def _percentiles(
    session: AsyncSession, query: ReportQuery, durations: Sequence[Any]
) -> Measured[list[SpanFigures]]:
    """`percentile_cont` per span and group. In cohort mode one pass over the cohort; in period
    mode one part per span over who reached its later stage inside the period, each served by
    that stage's index."""
    chosen = spans(query.stages)
    # Percentiles do not add up: all contacts' figures come from the same pass instead.
    with_total = query.partitioned

    def figures_of(duration: Any) -> list[Any]:
        percentiles = postgresql.array([MEDIAN, P90])
        return [func.count(duration), func.percentile_cont(percentiles).within_group(duration)]

    statement: Any
    if query.mode is Mode.COHORT:
        values = [value for duration in durations for value in figures_of(duration)]
        statement, width = grouped(query, "postgresql", values, query.stages, with_total=with_total)
        spans_of_row = list(range(len(chosen)))
    else:
        parts = []
        for index, ((_, later), duration) in enumerate(zip(chosen, durations, strict=True)):
            values = [literal(index), *figures_of(duration)]
            part, width = grouped(query, "postgresql", values, [later], with_total=with_total)
            parts.append(part)
        statement, spans_of_row = union_all(*parts), []
    measured = Measured[list[SpanFigures]]()
    totals: list[SpanFigures] = [EMPTY] * len(chosen)
    groups: dict[tuple[Any, ...], list[SpanFigures]] = {}
    # Percentiles need their rows in group order. Left to itself the planner reads them through
    # an index on the group (the persona's, say), visiting the heap all over: several times
    # slower, for a year's cohort, than reading the range and sorting it.
    await session.execute(text("SET LOCAL enable_indexscan = off"))
    rows = (await session.execute(statement)).all()
    await session.execute(text("SET LOCAL enable_indexscan = on"))
    for row in rows:
        is_total = with_total and bool(row[-1])
        target = (
            totals if is_total else groups.setdefault(tuple(row[:width]), [EMPTY] * len(chosen))
        )
        if spans_of_row:  # every span's figures in the row
            for index in spans_of_row:
                at = width + 2 * index
                target[index] = _figures(int(row[at]), row[at + 1])
        else:  # one span's, named by its index
            target[row[width]] = _figures(int(row[width + 1]), row[width + 2])
    measured.groups = list(groups.items())
    if with_total:
        measured.total = totals
    return measured


def _figures(contacts: int, percentiles: Sequence[float] | None) -> SpanFigures:
    if not contacts or percentiles is None:
        return EMPTY
    median, p90 = percentiles
    return SpanFigures(contacts, float(median), float(p90))


def _computed(durations: Sequence[float]) -> SpanFigures:
    if not durations:
        return EMPTY
    return SpanFigures(len(durations), percentile(durations, MEDIAN), percentile(durations, P90))


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The value ``fraction`` of the way through ``ordered``, interpolated as
    `percentile_cont` does."""
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
