"""`/api/v1/reports`: how leads move through the funnel, for marketing ops."""

import csv
import io
import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.content.service import AssetNotFound, AssetService
from inbound.db import utcnow
from inbound.errors import BadRequest, problems
from inbound.leads.stages import LifecycleStage
from inbound.personas.service import PersonaNotFound, PersonaService
from inbound.reports.funnel import Breakdown, FunnelQuery, Mode
from inbound.reports.schemas import FunnelGroupRead, FunnelRead, StageCount, StageRatio
from inbound.reports.service import FunnelGroup, FunnelReport, FunnelService
from inbound.schemas import NO_NUL

MAX_PERIOD = timedelta(days=5 * 366)
CSV = "text/csv"

Ref = Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)]


class InvalidReportParameter(BadRequest):
    problem = "validation"


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    guards = [requires(Scope.REPORTS_READ)]

    @get(
        "/funnel",
        operation_id="funnelReport",
        summary="How many contacts reached each stage, and the rates between stages",
        description=(
            "**Cohort mode** (the default): the cohort is every contact that reached the entry "
            "stage (`entry`, `lead` by default) inside the period; each later stage counts the "
            "cohort members that reached it by now, or within `window_days` of entering. "
            "Young cohorts look worse until they mature: their members have had less time to "
            "move on. **Period mode**: each stage counts the contacts that reached it inside "
            "the period, whenever they reached earlier stages; the ratios are throughput, not "
            "conversion, and may exceed 1. A contact that skipped stages reached them at the "
            "time of the jump. The period runs from the start of `from` to the end of `to` in "
            "`tz`. `by=persona` groups by the contact's current persona (a group for contacts "
            "without one); `first_asset`, `source` (first-touch UTM source / medium) and `site` "
            "by first touch; `any_asset` counts a contact under every asset it captured. "
            "Groups nobody is in show zeros. `format=csv` or `Accept: text/csv` answers CSV."
        ),
        responses=problems(400, 401, 403),
    )
    async def funnel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        from_date: Annotated[date, QueryParameter(name="from", description="First day.")],
        to_date: Annotated[date, QueryParameter(name="to", description="Last day, included.")],
        tz: Annotated[str, QueryParameter(max_length=64, description="IANA time zone.")] = "UTC",
        mode: FromQuery[Mode] = Mode.COHORT,
        entry: FromQuery[LifecycleStage] = LifecycleStage.LEAD,
        window_days: Annotated[int | None, QueryParameter(ge=1, le=3650)] = None,
        by: FromQuery[Breakdown] = Breakdown.NONE,
        persona: Ref = None,
        site: FromQuery[uuid.UUID | None] = None,
        asset: Ref = None,
        format: Annotated[str | None, QueryParameter(pattern="^(json|csv)$")] = None,
    ) -> Response[FunnelRead]:
        start, end = _period(from_date, to_date, tz)
        if window_days is not None and mode is Mode.PERIOD:
            raise InvalidReportParameter(
                "`window_days` applies to cohort mode only", field="window_days"
            )
        query = FunnelQuery(
            mode=mode,
            entry=entry,
            start=start,
            end=end,
            as_of=utcnow(),
            window_days=window_days,
            by=by,
            persona_id=await _persona_id(db_session, persona),
            site_id=site,
            asset_id=await _asset_id(db_session, asset),
        )
        report = await FunnelService(db_session).funnel(query)
        body = _read(report, from_date, to_date, tz)
        wants_csv = format == "csv" or (
            format is None and CSV in (request.headers.get("accept") or "")
        )
        if wants_csv:
            return Response(_csv(body), media_type=CSV)  # type: ignore[arg-type]
        return Response(body, media_type=MediaType.JSON)


def _period(from_date: date, to_date: date, tz: str) -> tuple[datetime, datetime]:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidReportParameter(f"unknown time zone {tz!r}", field="tz") from None
    if to_date < from_date:
        raise InvalidReportParameter("`to` comes before `from`", field="to")
    start = datetime.combine(from_date, time(), zone).astimezone(UTC)
    end = datetime.combine(to_date + timedelta(days=1), time(), zone).astimezone(UTC)
    if end - start > MAX_PERIOD:
        raise InvalidReportParameter("the period is longer than 5 years", field="to")
    return start, end


async def _persona_id(session: AsyncSession, ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    try:
        return (await PersonaService(session).get(ref)).id
    except PersonaNotFound:
        raise InvalidReportParameter(f"no persona {ref!r}", field="persona") from None


async def _asset_id(session: AsyncSession, ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    try:
        return (await AssetService(session).get(ref)).id
    except AssetNotFound:
        raise InvalidReportParameter(f"no asset {ref!r}", field="asset") from None


def _read(report: FunnelReport, from_date: date, to_date: date, tz: str) -> FunnelRead:
    query = report.query
    return FunnelRead(
        mode=query.mode,
        ratio_kind="throughput" if query.mode is Mode.PERIOD else "conversion",
        entry_stage=query.entry,
        from_date=from_date,
        to_date=to_date,
        time_zone=tz,
        window_days=query.window_days,
        as_of=query.as_of,
        by=query.by,
        total=_group(report.total, query.stages),
        groups=[_group(group, query.stages) for group in report.groups],
    )


def _group(group: FunnelGroup, stages: tuple[LifecycleStage, ...]) -> FunnelGroupRead:
    counts = dict(zip(stages, group.counts, strict=True))

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


def _csv(report: FunnelRead) -> str:
    """One row per group and stage, with the rates into that stage."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group_key", "group_label", "stage", "count", "rate_from_previous",
                     "rate_from_entry"])  # fmt: skip
    for group in [report.total, *report.groups]:
        previous = {r.to_stage: r.rate for r in group.from_previous}
        entry = {r.to_stage: r.rate for r in group.from_entry}
        for count in group.stages:
            writer.writerow([
                group.key or "", group.label, count.stage.value, count.count,
                _text(previous.get(count.stage)), _text(entry.get(count.stage)),
            ])  # fmt: skip
    return out.getvalue()


def _text(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"
