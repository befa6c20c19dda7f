"""`/api/v1/reports`: how leads move through the funnel, for marketing ops."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery, QueryParameter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import filtered_asset_id
from inbound.leads.stages import LifecycleStage
from inbound.reports.assets import AssetQuery
from inbound.reports.endpoint import ReportsController, answer_as_asked, narrowed_ids, report_get
from inbound.reports.params import PERIOD, Format, FromDate, Ref, TimeZone, ToDate
from inbound.reports.paths import LOOKBACK_DAYS, STEPS, PathQuery
from inbound.reports.period import InvalidReportParameter, Period, parse_period
from inbound.reports.query import Breakdown, Mode, ReportQuery
from inbound.reports.render import (
    assets_csv,
    assets_read,
    funnel_csv,
    funnel_read,
    paths_csv,
    paths_read,
    velocity_csv,
    velocity_read,
)
from inbound.reports.schemas import AssetsRead, FunnelRead, PathsRead, VelocityRead
from inbound.reports.service import ReportService


@dataclass(frozen=True, slots=True)
class ReportParameters:
    """The question the funnel and velocity reports share, as asked."""

    from_date: date
    to_date: date
    tz: str
    mode: Mode
    entry: LifecycleStage
    window_days: int | None
    by: Breakdown
    persona: str | None
    site: uuid.UUID | None
    asset: str | None


WindowDays = Annotated[int | None, QueryParameter(ge=1, le=3650)]


def provide_report_parameters(
    from_date: FromDate,
    to_date: ToDate,
    tz: TimeZone = "UTC",
    mode: FromQuery[Mode] = Mode.COHORT,
    entry: FromQuery[LifecycleStage] = LifecycleStage.LEAD,
    window_days: WindowDays = None,
    by: FromQuery[Breakdown] = Breakdown.NONE,
    persona: Ref = None,
    site: FromQuery[uuid.UUID | None] = None,
    asset: Ref = None,
) -> ReportParameters:
    """The parameters, unchecked: a dependency must not raise. Litestar cleans up the request's
    session only once every dependency is resolved, so a refusal raised here would leave the
    session to be closed later by the garbage collector, on a connection in use again."""
    return ReportParameters(
        from_date, to_date, tz, mode, entry, window_days, by, persona, site, asset
    )


async def grouped_query(
    session: AsyncSession, asked: ReportParameters
) -> tuple[Period, ReportQuery]:
    """The question, checked: a 400 naming the parameter that cannot be answered."""
    period = parse_period(asked.from_date, asked.to_date, asked.tz)
    if asked.window_days is not None and asked.mode is Mode.PERIOD:
        raise InvalidReportParameter(
            "`window_days` applies to cohort mode only", field="window_days"
        )
    query = ReportQuery.over(
        period,
        mode=asked.mode,
        entry=asked.entry,
        window_days=asked.window_days,
        by=asked.by,
        **await narrowed_ids(session, asked.persona, asked.site),
        asset_id=await filtered_asset_id(session, asked.asset, field="asset"),
    )
    return period, query


GROUPED = {"asked": Provide(provide_report_parameters, sync_to_thread=False)}
WINDOW = (
    "`window_days` counts exact 24-hour days from the instant the contact reached the entry "
    "stage, whatever the time zone and its daylight-saving changes. "
)
PARAMETERS = (
    PERIOD
    + WINDOW
    + "`by=persona` groups by the contact's current persona (a group for contacts without "
    "one); `first_asset`, `source` (first-touch UTM source / medium) and `site` by first touch; "
    "`any_asset` counts a contact under every asset it captured. Groups nobody is in show "
    "zeros. `persona`, `site` (first touch) and `asset` (captured it) narrow the contacts; "
    "naming one that does not exist is a 400. "
)


GroupedAnswer = tuple[
    Callable[[ReportService, ReportQuery], Awaitable[Any]],
    type[BaseModel],
    Callable[[Any, Period], Any],
    Callable[[Any], str],
]
"""How a grouped report is answered: the service's report, its JSON schema, then the body
and the CSV rendered from the report."""


def grouped_report(
    path: str, *, operation_id: str, summary: str, description: str, answer: GroupedAnswer
) -> HTTPRouteHandler:
    """A GET answering the question the funnel and velocity reports share (`asked`)."""
    run, read, render, to_csv = answer

    async def handler(
        self: Any,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        asked: NamedDependency[ReportParameters],
        format: Format = None,
    ) -> Response[Any]:
        period, query = await grouped_query(db_session, asked)
        report = await run(ReportService(db_session), query)
        return answer_as_asked(request, format, render(report, period), to_csv)

    # The schema of the answer is the report's own: Litestar reads it off the annotation.
    handler.__annotations__["return"] = Response[read]  # type: ignore[valid-type]
    handler.__name__ = handler.__qualname__ = path.strip("/")
    route = report_get(
        path,
        operation_id=operation_id,
        summary=summary,
        description=description,
        dependencies=GROUPED,
    )
    return route(handler)


class ReportController(ReportsController):
    funnel = grouped_report(
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
            "time of the jump. " + PARAMETERS
        ),
        answer=(ReportService.funnel, FunnelRead, funnel_read, funnel_csv),
    )
    velocity = grouped_report(
        "/velocity",
        operation_id="velocityReport",
        summary="How long contacts take from stage to stage: median and 90th percentile",
        description=(
            "For each stage and the next, and the entry stage and each later one: the contacts "
            "that reached both, and the median and 90th percentile of the time between. "
            "Percentiles interpolate linearly between the two nearest times. A contact that "
            "skipped stages reached them at the time of the jump, so the time between two "
            "stages it jumped over is zero. **Cohort mode** (the default): the contacts that "
            "reached the entry stage inside the period, timed to the later stages they reached "
            "by now (or within `window_days` of entering); young cohorts show only their "
            "quickest members until they mature. **Period mode**: the contacts that reached the "
            "later stage inside the period, timed from the earlier one whenever they reached "
            "it. " + PARAMETERS
        ),
        answer=(ReportService.velocity, VelocityRead, velocity_read, velocity_csv),
    )

    @report_get(
        "/assets",
        operation_id="assetsReport",
        summary="Per asset: captures, new contacts, and the conversions it is credited with",
        description=(
            "Every asset, the most credited first. `captures` counts its captures inside the "
            "period; `new_contacts` the contacts whose first capture, inside the period, was "
            "of it. Attribution follows the contacts that reached `stage` (default `customer`) "
            "inside the period, over their captures up to that moment, made at any earlier "
            "time: **first touch** credits the first capture with the whole conversion, **last "
            "touch** the last, **linear** each capture with an equal share (fractional). Under "
            "each model the credits sum to `converted`; contacts that converted without any "
            "capture before are counted in `unattributed`. Captures at the same instant are "
            "ordered by id. `persona` (current) and `site` (first touch) narrow the contacts "
            "every figure counts; naming one that does not exist is a 400. " + PERIOD
        ),
    )
    async def assets(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        from_date: FromDate,
        to_date: ToDate,
        tz: TimeZone = "UTC",
        stage: FromQuery[LifecycleStage] = LifecycleStage.CUSTOMER,
        persona: Ref = None,
        site: FromQuery[uuid.UUID | None] = None,
        format: Format = None,
    ) -> Response[AssetsRead]:
        period = parse_period(from_date, to_date, tz)
        narrowed = await narrowed_ids(db_session, persona, site)
        query = AssetQuery(stage=stage, start=period.start, end=period.end, **narrowed)
        report = await ReportService(db_session).assets(query)
        return answer_as_asked(request, format, assets_read(report, period), assets_csv)

    @report_get(
        "/paths",
        operation_id="pathsReport",
        summary="The most frequent paths into capture: what visitors viewed just before",
        description=(
            "For each capture inside the period whose visitor viewed content or pages before "
            "it (under the capture's `visitor_id`, or any anonymous or user id linked to the "
            f"capture's contact), in the {LOOKBACK_DAYS} days before: the last up to "
            f"{STEPS} content assets or pages viewed (views of the same one in a row count "
            "once), then the asset captured, as a path `A → B → capture of C`. The `limit` "
            "most frequent paths (default 10), with their count and their share of the "
            "captures with behaviour before them; ties in count by the steps. " + PERIOD
        ),
    )
    async def paths(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        from_date: FromDate,
        to_date: ToDate,
        tz: TimeZone = "UTC",
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Paths shown.")] = 10,
        format: Format = None,
    ) -> Response[PathsRead]:
        period = parse_period(from_date, to_date, tz)
        query = PathQuery(start=period.start, end=period.end, limit=limit)
        report = await ReportService(db_session).paths(query)
        return answer_as_asked(request, format, paths_read(report, period), paths_csv)
