"""Funnel reports assembled from counts: groups with zeros, and every rate with its parts."""

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.reports.funnel import Breakdown, FunnelQuery, Mode, funnel_counts, group_labels

NO_PERSONA = "no persona"
NO_SOURCE = "(none)"


@dataclass(slots=True)
class FunnelGroup:
    key: str | None
    label: str
    counts: list[int]


@dataclass(slots=True)
class FunnelReport:
    query: FunnelQuery
    total: FunnelGroup
    groups: list[FunnelGroup] = field(default_factory=list)


class FunnelService:
    """Counts per stage, per group, for a period."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def funnel(self, query: FunnelQuery) -> FunnelReport:
        whole = replace(query, by=Breakdown.NONE)
        [(_, total)] = await funnel_counts(self.session, whole) or [((), [0] * len(query.stages))]
        report = FunnelReport(query=query, total=FunnelGroup(None, "all contacts", total))
        if query.by is Breakdown.NONE:
            return report
        counted = dict(await funnel_counts(self.session, query))
        report.groups = await self._groups(query, counted)
        return report

    async def _groups(
        self, query: FunnelQuery, counted: dict[tuple[Any, ...], list[int]]
    ) -> list[FunnelGroup]:
        zeros = [0] * len(query.stages)
        if query.by is Breakdown.SOURCE:
            return [
                FunnelGroup(_source_key(key), _source_key(key) or NO_SOURCE, counts)
                for key, counts in sorted(counted.items(), key=lambda kv: _source_key(kv[0]) or "")
            ]
        labels = await group_labels(self.session, query.by)
        groups = [
            FunnelGroup(key, label, counted.get((group_id,), zeros))
            for group_id, (key, label) in sorted(labels.items(), key=lambda kv: kv[1])
            if _wanted(query, group_id)
        ]
        if query.by is Breakdown.PERSONA and query.persona_id is None:
            groups.append(FunnelGroup(None, NO_PERSONA, counted.get((None,), zeros)))
        return groups


def _wanted(query: FunnelQuery, group_id: uuid.UUID) -> bool:
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


def is_throughput(query: FunnelQuery) -> bool:
    return query.mode is Mode.PERIOD
