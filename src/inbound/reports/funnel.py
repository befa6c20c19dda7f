"""The funnel's counts in SQL: how many contacts reached each stage, per group."""

from typing import Any

from sqlalchemy import case, func, literal, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.reports.daily.read import reads_days, stage_counts
from inbound.reports.query import Measured, Mode, ReportQuery, counted, grouped


async def funnel_counts(session: AsyncSession, query: ReportQuery) -> Measured[list[int]]:
    """Per group (the breakdown's column values), the count that reached each stage; also the
    counts of all contacts when the groups add up to them."""
    dialect = session.get_bind().dialect.name
    if reads_days(query):
        return Measured(groups=[(("all",), await stage_counts(session, query))])
    if query.mode is Mode.PERIOD:
        measured = await _period_counts(session, query, dialect)
    else:
        counts = [func.count(case((counted(query, stage, dialect), 1))) for stage in query.stages]
        statement, width = grouped(query, dialect, counts, query.stages)
        measured = Measured(
            groups=[
                (tuple(row[:width]), [int(n) for n in row[width:]])
                for row in (await session.execute(statement)).all()
            ]
        )
    if query.partitioned:
        columns = zip(*(counts for _, counts in measured.groups), strict=True)
        measured.total = [sum(column) for column in columns] or [0] * len(query.stages)
    return measured


async def _period_counts(
    session: AsyncSession, query: ReportQuery, dialect: str
) -> Measured[list[int]]:
    """A count per stage, each over the contacts that reached that stage inside the period:
    one index range per stage, rather than one pass over everyone who reached any of them."""
    parts = []
    width = 0
    for index, stage in enumerate(query.stages):
        part, width = grouped(query, dialect, [literal(index), func.count()], [stage])
        parts.append(part)
    counts: dict[tuple[Any, ...], list[int]] = {}
    for row in (await session.execute(union_all(*parts))).all():
        key = tuple(row[:width])
        counts.setdefault(key, [0] * len(query.stages))[row[width]] = int(row[width + 1])
    return Measured(groups=list(counts.items()))
