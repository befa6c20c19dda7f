"""The survey report's question and its one counting statement.

SQL only counts: answers per (group, period bucket, scale, score), in one pass over the
period's answers. Every figure (NPS, CES, CSAT and their intervals) is computed from those
histograms by `inbound.surveys.figures`.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.leads.stages import LifecycleStage
from inbound.reports.period import Period, utc_midnight
from inbound.reports.query import where_given
from inbound.surveys.models import AnswerSource, Metric, SurveyAnswer

ANSWERS = table_of(SurveyAnswer)


class SurveyBreakdown(StrEnum):
    NONE = "none"
    TOUCHPOINT = "touchpoint"
    SURVEY = "survey"
    PERSONA = "persona"
    STAGE = "stage"


class Trend(StrEnum):
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One week or month of a trend, cut to the period's days."""

    label: str  # 2026-03, or 2026-W09
    from_date: date
    to_date: date  # included
    start: datetime  # the instant from_date begins in the report's zone, in UTC


@dataclass(frozen=True, slots=True)
class SurveyQuery:
    """A survey report's question, its period already turned into UTC instants."""

    metric: Metric
    start: datetime
    end: datetime  # exclusive
    by: SurveyBreakdown = SurveyBreakdown.NONE
    buckets: tuple[Bucket, ...] = ()  # none: no trend
    touchpoint_id: uuid.UUID | None = None
    survey_id: uuid.UUID | None = None
    persona_id: uuid.UUID | None = None
    stage: LifecycleStage | None = None
    # `link`: the answers of contacts through their signed links; `public`: a site's pages'.
    source: AnswerSource | None = None


# (group value, bucket index or None) -> scale_max -> score -> answers
Counts = dict[tuple[Any, int | None], dict[int, Counter[int]]]


def trend_buckets(period: Period, trend: Trend) -> tuple[Bucket, ...]:
    """The weeks (Monday first) or calendar months the period's days fall in, in its zone;
    the first and last cut to the period, so that every answer counted is in one bucket."""
    zone = ZoneInfo(period.time_zone)
    buckets = []
    day = period.from_date
    after = period.to_date + timedelta(days=1)
    while day < after:
        if trend is Trend.WEEK:
            year, week, weekday = day.isocalendar()
            label = f"{year}-W{week:02d}"
            following = _days_later(day, 8 - weekday, after)
        else:
            label = f"{day.year:04d}-{day.month:02d}"
            following = _next_month(day, after)
        buckets.append(
            Bucket(label, day, following - timedelta(days=1), utc_midnight(day, zone, field="from"))
        )
        day = following
    return tuple(buckets)


def _days_later(day: date, days: int, cap: date) -> date:
    try:
        return min(day + timedelta(days=days), cap)
    except OverflowError:  # past 9999-12-31: the period ends first anyway
        return cap


def _next_month(day: date, cap: date) -> date:
    if day.month < 12:
        return min(date(day.year, day.month + 1, 1), cap)
    return cap if day.year == cap.year else min(date(day.year + 1, 1, 1), cap)


def _group_column(by: SurveyBreakdown) -> Any:
    return {
        SurveyBreakdown.TOUCHPOINT: ANSWERS.c.touchpoint_id,
        SurveyBreakdown.SURVEY: ANSWERS.c.survey_id,
        SurveyBreakdown.PERSONA: ANSWERS.c.persona_id,
        SurveyBreakdown.STAGE: ANSWERS.c.stage,
    }.get(by)


def bucket_number(starts: Sequence[datetime], dialect: str) -> ColumnElement[int]:
    """Which bucket an answer falls in: 1 for the first start, k for the last (answers are
    inside the period, at or after the first start).

    PostgreSQL: `width_bucket` over the array of starts, a binary search per row. Elsewhere,
    the same binary search as nested CASEs (about log2(k) comparisons, not k). The starts
    come from Python's zone database, so both databases and the period agree on every edge.
    """
    when = ANSWERS.c.answered_at
    if dialect == "postgresql":
        array = bindparam("bucket_starts", list(starts), type_=ARRAY(DateTime(timezone=True)))
        return func.width_bucket(when, array)

    def search(first: int, last: int) -> ColumnElement[int]:  # over starts[first:last]
        if last - first == 1:
            return literal(first + 1)
        middle = (first + last) // 2
        return case((when < starts[middle], search(first, middle)), else_=search(middle, last))

    return search(0, len(starts))


def counting_statement(query: SurveyQuery, dialect: str) -> Select[Any]:
    """Answers per (group, bucket, scale, score) inside the period, filters applied; the
    group and bucket columns only when the query asks for them."""
    group = _group_column(query.by)
    keys: list[Any] = [] if group is None else [group]
    if query.buckets:
        keys.append(bucket_number([b.start for b in query.buckets], dialect))
    keys += [ANSWERS.c.scale_max, ANSWERS.c.score]
    statement = select(*keys, func.count()).where(
        ANSWERS.c.metric == query.metric.value,
        ANSWERS.c.answered_at >= query.start,
        ANSWERS.c.answered_at < query.end,
    )
    statement = where_given(
        statement,
        (ANSWERS.c.touchpoint_id, query.touchpoint_id),
        (ANSWERS.c.survey_id, query.survey_id),
        (ANSWERS.c.persona_id, query.persona_id),
        (ANSWERS.c.stage, query.stage.value if query.stage else None),
        (ANSWERS.c.source, query.source.value if query.source else None),
    )
    # By position: the bucket expression carries its starts as a parameter, which would be
    # sent twice, and so not be the same expression, if it were repeated in GROUP BY.
    return statement.group_by(*(literal_column(str(i)) for i in range(1, len(keys) + 1)))


async def count_answers(session: AsyncSession, query: SurveyQuery) -> Counts:
    """The histograms of the period's answers, per group (None without a breakdown) and
    bucket (None without a trend: the whole period)."""
    dialect = session.get_bind().dialect.name
    grouped, trended = query.by is not SurveyBreakdown.NONE, bool(query.buckets)
    counts: Counts = {}
    for row in (await session.execute(counting_statement(query, dialect))).all():
        *keys, scale_max, score, answers = row
        group = keys.pop(0) if grouped else None
        bucket = int(keys.pop(0)) - 1 if trended else None
        by_scale = counts.setdefault((group, bucket), {})
        by_scale.setdefault(int(scale_max), Counter())[int(score)] += int(answers)
    return counts
