"""Which part of a period a report reads from the day tables, and which from the source.

A rolled day is read from its roll-up only when it lies wholly inside the period (days are
UTC days; a period in another time zone begins and ends inside one). The rest of the period,
today and any day changed since its roll included, is read from the contacts and answers.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.reports.daily.tables import REPORT_DAY_CHANGES, REPORT_DAYS

DAY = timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DayPlan:
    """The rolled days a period reads from the day tables (as runs of consecutive days,
    end exclusive), and the spans of time it reads from the source (end exclusive)."""

    rolled: list[tuple[date, date]] = field(default_factory=list)
    source: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def rolled_days(self) -> int:
        return sum((last - first).days for first, last in self.rolled)

    def in_rolled(self, day: Any) -> ColumnElement[bool]:
        """``day`` (a day tables' column) is one of the rolled days read."""
        return or_(false(), *(and_(day >= first, day < last) for first, last in self.rolled))

    def at_rolled(self, instant: Any) -> ColumnElement[bool]:
        """``instant`` (a source timestamp) falls on one of the rolled days read."""
        return or_(
            false(),
            *(and_(instant >= day_start(a), instant < day_start(b)) for a, b in self.rolled),
        )

    def still_rolled(self) -> Any:
        """How many of the plan's days are still rolled, in the reading statement's own view:
        fewer means one changed since the plan, and the statement must be read again."""
        return select(func.count()).where(self.in_rolled(REPORT_DAYS.c.day), _unchanged())


def _unchanged() -> ColumnElement[bool]:
    return ~exists().where(REPORT_DAY_CHANGES.c.day == REPORT_DAYS.c.day)


def _whole_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The UTC days wholly inside [start, end): first, and the day after the last."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = start.date() if start.timetz() == time(tzinfo=UTC) else start.date() + DAY
    return first, max(first, end.date())


async def plan_days(session: AsyncSession, start: datetime, end: datetime) -> DayPlan:
    """What to read from where for the period [start, end), as the day tables stand now."""
    first, last = _whole_days(start, end)
    if first >= last:
        return DayPlan(source=[(start, end)])
    rolled_days = (
        await session.scalars(
            select(REPORT_DAYS.c.day)
            .where(REPORT_DAYS.c.day >= first, REPORT_DAYS.c.day < last, _unchanged())
            .order_by(REPORT_DAYS.c.day)
        )
    ).all()
    return DayPlan(rolled=_runs(rolled_days), source=_gaps(start, end, _runs(rolled_days)))


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + DAY)
        else:
            runs.append((day, day + DAY))
    return runs


def _gaps(
    start: datetime, end: datetime, runs: list[tuple[date, date]]
) -> list[tuple[datetime, datetime]]:
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for first, last in runs:
        if day_start(first) > cursor:
            gaps.append((cursor, day_start(first)))
        cursor = day_start(last)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps
