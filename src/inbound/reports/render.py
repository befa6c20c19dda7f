"""Reports as the API shows them: JSON bodies, and CSV with a row per group and stage."""

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any, Protocol

from inbound.leads.stages import LifecycleStage
from inbound.reports.query import Mode, ReportQuery
from inbound.reports.schemas import (
    AssetCreditRead,
    AssetsRead,
    CapturePathRead,
    FunnelGroupRead,
    FunnelRead,
    PathsRead,
    PathStepRead,
    StageCount,
    StageRatio,
    StageSpan,
    VelocityGroupRead,
    VelocityRead,
)
from inbound.reports.service import AssetReport, Group, PathReport, Report
from inbound.reports.velocity import SpanFigures, spans
from inbound.spreadsheet import defused

SECONDS_PER_DAY = 86400


class Period(Protocol):
    @property
    def from_date(self) -> Any: ...
    @property
    def to_date(self) -> Any: ...
    @property
    def time_zone(self) -> str: ...


def period_fields(period: Period) -> dict[str, Any]:
    """The period a report covers, as every report's body (`PeriodRead`) begins."""
    return {"from_date": period.from_date, "to_date": period.to_date, "time_zone": period.time_zone}


def _grouped_header(query: ReportQuery, period: Period) -> dict[str, Any]:
    return {
        **period_fields(period),
        "mode": query.mode,
        "entry_stage": query.entry,
        "window_days": query.window_days,
        "as_of": query.as_of,
        "by": query.by,
    }


# -- funnel ------------------------------------------------------------------------------------


def funnel_read(report: Report[list[int]], period: Period) -> FunnelRead:
    query = report.query
    return FunnelRead(
        **_grouped_header(query, period),
        ratio_kind="throughput" if query.mode is Mode.PERIOD else "conversion",
        total=_funnel_group(report.total, query.stages),
        groups=[_funnel_group(group, query.stages) for group in report.groups],
    )


def _funnel_group(group: Group[list[int]], stages: Sequence[LifecycleStage]) -> FunnelGroupRead:
    counts = dict(zip(stages, group.figures, strict=True))

    def ratio(earlier: LifecycleStage, later: LifecycleStage) -> StageRatio:
        numerator, denominator = counts[later], counts[earlier]
        return StageRatio(
            from_stage=earlier,
            to_stage=later,
            numerator=numerator,
            denominator=denominator,
            rate=round(numerator / denominator, 4) if denominator else None,
            drop_off=denominator - numerator,
        )

    return FunnelGroupRead(
        key=group.key,
        label=group.label,
        stages=[StageCount(stage=stage, count=counts[stage]) for stage in stages],
        from_previous=[ratio(a, b) for a, b in pairwise(stages)],
        from_entry=[ratio(stages[0], later) for later in stages[1:]],
    )


def funnel_csv(report: FunnelRead) -> str:
    """One row per group and stage, with the rates into that stage."""
    rows: list[list[Any]] = []
    for group in [report.total, *report.groups]:
        previous = {r.to_stage: r.rate for r in group.from_previous}
        entry = {r.to_stage: r.rate for r in group.from_entry}
        rows.extend(
            [group.key or "", group.label, count.stage.value, count.count,
             _number(previous.get(count.stage)), _number(entry.get(count.stage))]
            for count in group.stages
        )  # fmt: skip
    header = ["group_key", "group_label", "stage", "count", "rate_from_previous",
              "rate_from_entry"]  # fmt: skip
    return csv_text(header, rows)


# -- velocity ----------------------------------------------------------------------------------


def velocity_read(report: Report[list[SpanFigures]], period: Period) -> VelocityRead:
    query = report.query
    return VelocityRead(
        **_grouped_header(query, period),
        total=_velocity_group(report.total, query.stages),
        groups=[_velocity_group(group, query.stages) for group in report.groups],
    )


def _velocity_group(
    group: Group[list[SpanFigures]], stages: Sequence[LifecycleStage]
) -> VelocityGroupRead:
    timed = [
        StageSpan(
            from_stage=earlier,
            to_stage=later,
            contacts=figures.contacts,
            median_seconds=_rounded(figures.median, 1),
            p90_seconds=_rounded(figures.p90, 1),
            median_days=_days(figures.median),
            p90_days=_days(figures.p90),
        )
        for (earlier, later), figures in zip(spans(stages), group.figures, strict=True)
    ]
    consecutive = len(stages) - 1
    return VelocityGroupRead(
        key=group.key,
        label=group.label,
        from_previous=timed[:consecutive],
        # The entry stage to the next is also the first consecutive pair: timed once.
        from_entry=timed[:1] + timed[consecutive:],
    )


def velocity_csv(report: VelocityRead) -> str:
    """One row per group and pair of stages."""
    rows = [
        [group.key or "", group.label, span.from_stage.value, span.to_stage.value, span.contacts,
         _number(span.median_seconds), _number(span.p90_seconds), _number(span.median_days),
         _number(span.p90_days)]
        for group in [report.total, *report.groups]
        for span in [*group.from_previous, *group.from_entry[1:]]
    ]  # fmt: skip
    header = ["group_key", "group_label", "from_stage", "to_stage", "contacts",
              "median_seconds", "p90_seconds", "median_days", "p90_days"]  # fmt: skip
    return csv_text(header, rows)


# -- assets ------------------------------------------------------------------------------------


def assets_read(report: AssetReport, period: Period) -> AssetsRead:
    return AssetsRead(
        **period_fields(period),
        stage=report.query.stage,
        converted=report.conversions.attributed,
        unattributed=report.conversions.unattributed,
        assets=[
            AssetCreditRead(
                **row.asset,
                captures=row.figures.captures,
                new_contacts=row.figures.new_contacts,
                first_touch=row.figures.first_touch,
                last_touch=row.figures.last_touch,
                linear=round(row.figures.linear, 4),
            )
            for row in report.assets
        ],
    )


def assets_csv(report: AssetsRead) -> str:
    """One row per asset."""
    columns = ["slug", "title", "kind", "funnel_stage", "captures", "new_contacts",
               "first_touch", "last_touch", "linear"]  # fmt: skip
    rows = [[getattr(asset, name) for name in columns] for asset in report.assets]
    return csv_text(columns, rows)


# -- paths into capture ------------------------------------------------------------------------

ARROW = " → "


def paths_read(report: PathReport, period: Period) -> PathsRead:
    figures, labels = report.figures, report.assets

    def step(asset_id: uuid.UUID | None, url: str | None) -> PathStepRead:
        if asset_id is None:
            title = figures.page_titles.get(url or "") or url or ""
            return PathStepRead(asset_id=None, slug=None, url=url, title=title)
        label = labels.get(asset_id)
        return PathStepRead(
            asset_id=asset_id,
            slug=label["slug"] if label else None,
            url=None,
            title=label["title"] if label else "(an asset since deleted)",
        )

    paths = []
    for path in figures.paths:
        steps = [step(s.asset_id, s.url) for s in path.steps]
        captured = step(path.captured, None)
        shown = ARROW.join([*(s.title for s in steps), f"capture of {captured.title}"])
        share = path.count / figures.with_behaviour if figures.with_behaviour else 0.0
        paths.append(CapturePathRead(path=shown, steps=steps, captured=captured,
                                     count=path.count, share=round(share, 4)))  # fmt: skip
    return PathsRead(
        **period_fields(period),
        captures=figures.captures,
        with_behaviour=figures.with_behaviour,
        paths=paths,
    )


def paths_csv(report: PathsRead) -> str:
    """One row per path: the path as text, its steps' slugs (or URLs), count and share."""
    header = ["path", "step_1", "step_2", "step_3", "captured", "count", "share"]
    rows = []
    for path in report.paths:
        refs = [step.slug or step.url or "" for step in path.steps]
        refs = [""] * (3 - len(refs)) + refs  # aligned on the capture: step_3 is the last view
        rows.append([path.path, *refs, path.captured.slug or "", path.count, path.share])
    return csv_text(header, rows)


# -- shared ------------------------------------------------------------------------------------


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    # Labels and titles come from forms and pages anyone may send: never a formula.
    writer.writerows([defused(c) if isinstance(c, str) else c for c in row] for row in rows)
    return out.getvalue()


def _rounded(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / SECONDS_PER_DAY, 2)


def _number(value: float | None) -> str:
    return "" if value is None else str(value)
