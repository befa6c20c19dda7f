"""Reports assembled from per-group figures: every group shown, empty ones with zeros."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.reports.assets import (
    AssetFigures,
    AssetQuery,
    Conversions,
    asset_figures,
    asset_labels,
)
from inbound.reports.funnel import funnel_counts
from inbound.reports.paths import PathFigures, PathQuery, path_figures
from inbound.reports.query import Breakdown, Measured, ReportQuery, group_labels
from inbound.reports.velocity import SpanFigures, spans, velocity

NO_PERSONA = "no persona"
REPORT_WORK_MEM = "64MB"
NO_SOURCE = "(none)"

Figures = TypeVar("Figures")
Measure = Callable[[AsyncSession, ReportQuery], Any]


@dataclass(slots=True)
class Group(Generic[Figures]):
    key: str | None
    label: str
    figures: Figures


@dataclass(slots=True)
class Report(Generic[Figures]):
    query: ReportQuery
    total: Group[Figures]
    groups: list[Group[Figures]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AssetRow:
    asset: dict[str, Any]  # id, slug, title, kind, funnel_stage
    figures: AssetFigures


@dataclass(slots=True)
class AssetReport:
    query: AssetQuery
    conversions: Conversions
    assets: list[AssetRow]


@dataclass(slots=True)
class PathReport:
    query: PathQuery
    figures: PathFigures
    assets: Mapping[uuid.UUID, dict[str, Any]]  # id, slug, title, kind, funnel_stage


class ReportService:
    """Funnel counts and times between stages, per group, for a period."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _sort_in_memory(self) -> None:
        """Give this transaction's sorts room (PostgreSQL): a year of cohort sorted by group
        for percentiles spills to disk at the default 4 MB and takes several times longer."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))

    async def funnel(self, query: ReportQuery) -> Report[list[int]]:
        """How many contacts reached each stage of ``query.stages``."""
        return await self._report(query, funnel_counts, lambda: [0] * len(query.stages))

    async def velocity(self, query: ReportQuery) -> Report[list[SpanFigures]]:
        """How long contacts took between the stages of each of `spans(query.stages)`."""
        none = SpanFigures(0, None, None)
        await self._sort_in_memory()
        return await self._report(query, velocity, lambda: [none] * len(spans(query.stages)))

    async def assets(self, query: AssetQuery) -> AssetReport:
        """Every asset's figures, the most credited (linear) first."""
        await self._sort_in_memory()
        figures, conversions = await asset_figures(self.session, query)
        labels = await asset_labels(self.session)
        rows = [AssetRow(asset, figures.get(asset_id) or AssetFigures())
                for asset_id, asset in labels.items()]  # fmt: skip
        rows.sort(key=lambda row: (-row.figures.linear, -row.figures.captures,
                                   row.asset["title"], row.asset["slug"]))  # fmt: skip
        return AssetReport(query, conversions, rows)

    async def paths(self, query: PathQuery) -> PathReport:
        """The most frequent paths into capture in the period, with the assets' labels."""
        await self._sort_in_memory()
        figures = await path_figures(self.session, query)
        return PathReport(query, figures, await asset_labels(self.session))

    async def _report(
        self, query: ReportQuery, measure: Measure, empty: Callable[[], Figures]
    ) -> Report[Figures]:
        groups: dict[tuple[Any, ...], Figures] = {}
        total: Figures | None = None
        if query.by is not Breakdown.NONE:
            measured: Measured[Figures] = await measure(self.session, query)
            groups, total = dict(measured.groups), measured.total
        if total is None:
            whole: Measured[Figures] = await measure(
                self.session, replace(query, by=Breakdown.NONE)
            )
            total = whole.groups[0][1] if whole.groups else empty()
        report = Report(query=query, total=Group(None, "all contacts", total))
        if query.by is not Breakdown.NONE:
            report.groups = await self._groups(query, groups, empty)
        return report

    async def _groups(
        self,
        query: ReportQuery,
        measured: dict[tuple[Any, ...], Figures],
        empty: Callable[[], Figures],
    ) -> list[Group[Figures]]:
        if query.by is Breakdown.SOURCE:
            return [
                Group(_source_key(key), _source_key(key) or NO_SOURCE, figures)
                for key, figures in sorted(
                    measured.items(), key=lambda kv: _source_key(kv[0]) or ""
                )
            ]
        labels = await group_labels(self.session, query.by)
        groups = [
            Group(key, label, measured.get((group_id,)) or empty())
            for group_id, (key, label) in sorted(labels.items(), key=lambda kv: kv[1])
            if _wanted(query, group_id)
        ]
        if query.by is Breakdown.PERSONA and query.persona_id is None:
            groups.append(Group(None, NO_PERSONA, measured.get((None,)) or empty()))
        return groups


def _wanted(query: ReportQuery, group_id: uuid.UUID) -> bool:
    """A filtered report shows the filtered group only."""
    chosen = {
        Breakdown.PERSONA: query.persona_id,
        Breakdown.SITE: query.site_id,
    }.get(query.by)
    return chosen is None or chosen == group_id


def _source_key(key: tuple[Any, ...]) -> str | None:
    source, medium = key
    if source is None and medium is None:
        return None
    return f"{source or ''} / {medium or ''}"
