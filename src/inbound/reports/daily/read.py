"""The journey's counts read from the day tables where they hold the answer, and from the
contacts and answers elsewhere: each one statement, checked against the plan it was built on.

Each statement returns rows tagged by part: the rolled days' sums, the source's counts over
each span the plan leaves to it, and a check row. The check counts the plan's days that are
still rolled in the statement's own view; if one changed between the plan and the statement,
the statement is planned and read again (after a few tries, from the source alone).
"""

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, Table, case, func, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.repository import CONTACTS
from inbound.leads.stages import LifecycleStage
from inbound.reports.daily.plan import DayPlan, plan_days
from inbound.reports.daily.tables import (
    DAY_ANSWER_TOTALS,
    DAY_ANSWERS,
    DAY_COHORT_WINDOWS,
    DAY_COHORTS,
    DAY_STAGES,
)
from inbound.reports.query import Breakdown, Mode, ReportQuery, counted, in_window, reached

ROLLED, SOURCE, LATER, CHECK = "rolled", "source", "later", "check"
TRIES = 3
Result = TypeVar("Result")


def reads_days(query: ReportQuery) -> bool:
    """Whether the day tables can answer the funnel question: no breakdown, no filter but
    the persona; in cohort mode, the cohort entering at the first stage (the journey's)."""
    return (
        query.by is Breakdown.NONE
        and query.site_id is None
        and query.asset_id is None
        and (query.mode is Mode.PERIOD or query.entry is LifecycleStage.SUBSCRIBER)
    )


async def checked(
    session: AsyncSession,
    start: Any,
    end: Any,
    read: Callable[[DayPlan], Awaitable[tuple[Result, int]]],
) -> Result:
    """``read`` under a plan of the period, again if a planned day changed before it read."""
    if session.get_bind().dialect.name == "postgresql":
        # Planned for its own values each time: from its sixth run, the driver's prepared
        # statement gets a generic plan, which for the as-of correction of a cohort with a
        # window reads every contact (2 s instead of 0.12 s over a million).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    for _ in range(TRIES):
        plan = await plan_days(session, start, end)
        result, still_rolled = await read(plan)
        if still_rolled == plan.rolled_days:
            return result
    result, _ = await read(DayPlan(source=[(start, end)]))
    return result


async def stage_counts(session: AsyncSession, query: ReportQuery) -> list[int]:
    """How many contacts reached each of ``query.stages``, as `funnel_counts` counts them."""
    dialect = session.get_bind().dialect.name

    async def read(plan: DayPlan) -> tuple[list[int], int]:
        if query.mode is Mode.PERIOD:
            parts = _period_parts(query, plan)
        else:
            parts = _cohort_parts(query, plan, dialect)
        statement = union_all(*parts, _check_row(plan, len(query.stages)))
        totals = [0] * len(query.stages)
        still_rolled = 0
        for part, *counts in (await session.execute(statement)).all():
            if part == CHECK:
                still_rolled = int(counts[0])
                continue
            sign = -1 if part == LATER else 1
            totals = [total + sign * int(n) for total, n in zip(totals, counts, strict=True)]
        return totals, still_rolled

    return await checked(session, query.start, query.end, read)


def _per_stage(table: Table, stages: Sequence[LifecycleStage]) -> list[Any]:
    """A day table's contacts summed per stage, one column each."""
    return [
        func.coalesce(func.sum(case((table.c.stage == stage.value, table.c.contacts))), 0)
        for stage in stages
    ]


def _persona(table_persona: Any, query: ReportQuery) -> list[Any]:
    return [] if query.persona_id is None else [table_persona == query.persona_id]


def _cohort_parts(query: ReportQuery, plan: DayPlan, dialect: str) -> list[Select[Any]]:
    """Cohort mode: the rolled days' contacts by the stages they reached (within the window),
    less those that reached one only after the as-of time; the source counts the rest."""
    stages = query.stages
    days = DAY_COHORTS if query.window_days is None else DAY_COHORT_WINDOWS
    rolled = select(literal(ROLLED), *_per_stage(days, stages)).where(
        plan.in_rolled(days.c.day), *_persona(days.c.persona_id, query)
    )
    if query.window_days is not None:
        rolled = rolled.where(days.c.within_days <= query.window_days)
    entry = reached(query.entry)
    later = select(
        literal(LATER),
        *(
            select(func.count())
            .select_from(CONTACTS)
            .where(
                reached(s) > query.as_of,
                in_window(query, s, dialect),
                plan.at_rolled(entry),
                *_persona(CONTACTS.c.persona_id, query),
            )
            .scalar_subquery()
            for s in stages
        ),
    )
    columns: list[Any] = [
        literal(SOURCE),
        *(func.count(case((counted(query, s, dialect), 1))) for s in stages),
    ]
    source = [
        select(*columns)
        .select_from(CONTACTS)
        .where(entry >= low, entry < high, *_persona(CONTACTS.c.persona_id, query))
        for low, high in plan.source
    ]
    return [rolled, later, *source] if plan.rolled else source


def _period_parts(query: ReportQuery, plan: DayPlan) -> list[Select[Any]]:
    """Period mode: per stage, the contacts that reached it on the rolled days, and in each
    span the source reads."""
    stages = query.stages
    rolled = select(literal(ROLLED), *_per_stage(DAY_STAGES, stages)).where(
        plan.in_rolled(DAY_STAGES.c.day), *_persona(DAY_STAGES.c.persona_id, query)
    )
    source = [
        select(
            literal(SOURCE),
            *(
                select(func.count())
                .select_from(CONTACTS)
                .where(reached(s) >= low, reached(s) < high)
                .where(*_persona(CONTACTS.c.persona_id, query))
                .scalar_subquery()
                for s in stages
            ),
        )
        for low, high in plan.source
    ]
    return [rolled, *source] if plan.rolled else source


def _check_row(plan: DayPlan, width: int) -> Select[Any]:
    return select(
        literal(CHECK), plan.still_rolled().scalar_subquery(), *([literal(0)] * (width - 1))
    )


# (metric, stage, scale_max, score) -> answers
AnswerCounts = Counter[tuple[str, str, int, int]]


async def answer_counts(
    session: AsyncSession,
    start: Any,
    end: Any,
    persona_id: Any,
    source_statement: Callable[[Any, Any], Select[Any]],
) -> AnswerCounts:
    """The answers per (metric, stage, scale, score) of the period: the rolled days' from the
    day table, the rest by ``source_statement(low, high)`` over each span left to it."""

    async def read(plan: DayPlan) -> tuple[AnswerCounts, int]:
        days = DAY_ANSWER_TOTALS if persona_id is None else DAY_ANSWERS
        keys = [days.c.metric, days.c.stage, days.c.scale_max, days.c.score]
        parts: list[Select[Any]] = [source_statement(low, high) for low, high in plan.source]
        if plan.rolled:
            rolled = select(*keys, func.sum(days.c.answers)).where(plan.in_rolled(days.c.day))
            if persona_id is not None:
                rolled = rolled.where(DAY_ANSWERS.c.persona_id == persona_id)
            parts.append(rolled.group_by(*keys))
        check = select(literal(CHECK), literal(CHECK), literal(0), literal(0),
                       plan.still_rolled().scalar_subquery())  # fmt: skip
        counts: AnswerCounts = Counter()
        still_rolled = 0
        for metric, stage, scale_max, score, n in (
            await session.execute(union_all(*parts, check))
        ).all():
            if metric == CHECK:
                still_rolled = int(n)
            else:
                counts[(str(metric), str(stage), int(scale_max), int(score))] += int(n)
        return counts, still_rolled

    return await checked(session, start, end, read)
