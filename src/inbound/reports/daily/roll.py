"""The worker's roll-up job: count each day that is over, and each day changed since, into the
day tables, a day per transaction.

A day is rolled once it ended `ROLL_AFTER` ago. Changes are logged for days that ended an hour
before they happen (the triggers' horizon): a change to a later day cannot be missed, since
such a day is not rolled until an hour after the change, when the change has long committed.

Rolling a day first deletes the changes it sees logged, then counts: a change that commits
after the deletion either is counted too, or leaves its row, and the day is read from the
source until it is rolled again. No lock is taken that a change would wait on.
"""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Table,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import dialect_insert_for, one_pass_at_a_time, own_transaction, utcnow
from inbound.leads.repository import CONTACTS
from inbound.leads.stages import STAGES
from inbound.reports.daily.plan import DAY, day_start
from inbound.reports.daily.tables import (
    DAY_ANSWER_TOTALS,
    DAY_ANSWERS,
    DAY_COHORT_WINDOWS,
    DAY_COHORTS,
    DAY_STAGES,
    DAY_TABLES,
    REPORT_DAY_CHANGES,
    REPORT_DAYS,
)
from inbound.reports.journey_query import STAGE_VALUES
from inbound.reports.query import reached
from inbound.surveys.models import Metric
from inbound.surveys.repository import ANSWERS

ROLL_AFTER = timedelta(hours=2)
ANALYZE_AFTER = 30  # days rolled in one pass
PASS_LOCK = 0x726F6C  # "rol": any constant shared by every process of this service
SECONDS_PER_DAY = 86400.0


def last_rollable(now: datetime) -> date:
    """The latest day that ended at least `ROLL_AFTER` before ``now``."""
    return (now - ROLL_AFTER).date() - DAY


async def roll_report_days(
    bind: AsyncEngine | AsyncConnection, *, now: datetime | None = None
) -> int:
    """Roll every day that is due: never rolled yet, or changed since. Returns how many.
    On PostgreSQL one pass runs at a time: a process finding another's pass under way skips."""
    now = now or utcnow()
    async with one_pass_at_a_time(bind, PASS_LOCK) as ours:
        if not ours:
            return 0
        async with own_transaction(bind) as connection:
            days = await _due(connection, last_rollable(now))
        for day in days:
            async with own_transaction(bind) as connection:
                await _roll(connection, day, now)
        if len(days) >= ANALYZE_AFTER and bind.dialect.name == "postgresql":
            # Planned on no statistics, a year of a persona's answers is summed by a sort that
            # spills to disk: three times slower than with them. Autovacuum comes too late.
            async with own_transaction(bind) as connection:
                tables = ", ".join(table.name for table in DAY_TABLES)
                await connection.execute(text(f"ANALYZE {tables}"))
        return len(days)


async def _due(connection: AsyncConnection, last: date) -> list[date]:
    """The days up to ``last`` not rolled yet, from the first with data, and those changed
    since their roll; the latest first, as reports most often ask for recent periods."""
    firsts = [select(func.min(reached(stage))).scalar_subquery() for stage in STAGES]
    # Per metric: each is a range of the (metric, answered_at) index, where all three at once
    # would read every answer.
    firsts += [
        select(func.min(ANSWERS.c.answered_at)).where(ANSWERS.c.metric == metric.value)
        .scalar_subquery()
        for metric in Metric
    ]  # fmt: skip
    earliest = [at for at in (await connection.execute(select(*firsts))).one() if at is not None]
    due: set[date] = set()
    if earliest:
        first = min(earliest).date()
        rolled_days = select(REPORT_DAYS.c.day).where(REPORT_DAYS.c.day >= first)
        rolled = set((await connection.scalars(rolled_days)).all())
        due = {first + DAY * n for n in range((last - first).days + 1)} - rolled
    changed = await connection.scalars(
        select(REPORT_DAY_CHANGES.c.day).where(REPORT_DAY_CHANGES.c.day <= last).distinct()
    )
    return sorted(due | set(changed.all()), reverse=True)


async def _roll(connection: AsyncConnection, day: date, now: datetime) -> None:
    """Count one day into the day tables, as it stands after the changes seen are cleared."""
    await connection.execute(delete(REPORT_DAY_CHANGES).where(REPORT_DAY_CHANGES.c.day == day))
    for table in DAY_TABLES:
        await connection.execute(delete(table).where(table.c.day == day))
    start, end = day_start(day), day_start(day + DAY)
    dialect = connection.dialect.name
    for table, counts in (
        (DAY_ANSWERS, _answers(day, start, end)),
        (DAY_ANSWER_TOTALS, _summed(DAY_ANSWERS, day, "persona_id", "answers")),
        (DAY_COHORT_WINDOWS, _cohorts(day, start, end, dialect)),
        (DAY_COHORTS, _summed(DAY_COHORT_WINDOWS, day, "within_days", "contacts")),
        (DAY_STAGES, _stages(day, start, end)),
    ):
        await connection.execute(
            insert(table).from_select([column.name for column in table.columns], counts)
        )
    upsert = dialect_insert_for(connection, REPORT_DAYS).values(day=day, rolled_at=now)
    await connection.execute(
        upsert.on_conflict_do_update(index_elements=["day"], set_={"rolled_at": now})
    )


def _answers(day: date, start: datetime, end: datetime) -> Any:
    keys = [ANSWERS.c.metric, ANSWERS.c.stage, ANSWERS.c.persona_id, ANSWERS.c.scale_max,
            ANSWERS.c.score]  # fmt: skip
    return (
        select(literal(day, Date), *keys, func.count())
        .where(
            ANSWERS.c.metric.in_([metric.value for metric in Metric]),
            ANSWERS.c.answered_at >= start,
            ANSWERS.c.answered_at < end,
            ANSWERS.c.stage.in_(STAGE_VALUES),
        )
        .group_by(*keys)
    )


def _summed(table: Table, day: date, dropped: str, counted: str) -> Any:
    """The day's rows of ``table`` summed over the ``dropped`` column."""
    keys = [c for c in table.columns if c.name not in (dropped, counted)]
    return select(*keys, func.sum(table.c[counted])).where(table.c.day == day).group_by(*keys)


def _cohorts(day: date, start: datetime, end: datetime, dialect: str) -> Any:
    """The day's cohort: per persona, stage reached and whole days it took (rounded up)."""
    entered = reached(STAGES[0])
    reaches = union_all(
        *(
            select(
                CONTACTS.c.persona_id,
                literal(stage.value).label("stage"),
                _days_up(reached(stage), entered, dialect).label("within_days"),
            ).where(entered >= start, entered < end, reached(stage).is_not(None))
            for stage in STAGES
        )
    ).subquery("reaches")
    keys = [reaches.c.persona_id, reaches.c.stage, reaches.c.within_days]
    return select(literal(day, Date), *keys, func.count()).group_by(*keys)


def _days_up(later: Any, earlier: Any, dialect: str) -> Any:
    """Whole days from ``earlier`` to ``later``, rounded up: within N days (of 24 hours)
    exactly when this is at most N."""
    if dialect == "postgresql":
        return cast(func.ceil(func.date_part("epoch", later - earlier) / SECONDS_PER_DAY), Integer)
    days = func.julianday(later) - func.julianday(earlier)
    whole = cast(days, Integer)  # toward zero: the ceiling for a negative span
    return whole + cast(days > whole, Integer)


def _stages(day: date, start: datetime, end: datetime) -> Any:
    reaches = union_all(
        *(
            select(literal(stage.value).label("stage"), CONTACTS.c.persona_id).where(
                reached(stage) >= start, reached(stage) < end
            )
            for stage in STAGES
        )
    ).subquery("reaches")
    keys = [reaches.c.stage, reaches.c.persona_id]
    return select(literal(day, Date), *keys, func.count()).group_by(*keys)
