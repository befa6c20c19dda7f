"""`/api/v1/reports`: how leads move through the funnel, for marketing ops."""

from dataclasses import dataclass
from typing import Annotated

from litestar import Response
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import filtered_asset_id
from inbound.leads.stages import LifecycleStage
from inbound.reports.assets import AssetQuery
from inbound.reports.endpoint import (
    PERIOD,
    Answer,
    AskedPeriod,
    Narrowing,
    Ref,
    ReportsController,
    report_get,
)
from inbound.reports.paths import LOOKBACK_DAYS, STEPS, PathQuery
from inbound.reports.period import InvalidReportParameter, Period
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

    period: AskedPeriod
    mode: Mode
    entry: LifecycleStage
    window_days: int | None
    by: Breakdown
    narrowing: Narrowing
    asset: str | None


WindowDays = Annotated[int | None, QueryParameter(ge=1, le=3650)]


def provide_report_parameters(
    period: NamedDependency[AskedPeriod],
    mode: FromQuery[Mode] = Mode.COHORT,
    entry: FromQuery[LifecycleStage] = LifecycleStage.LEAD,
    window_days: WindowDays = None,
    by: FromQuery[Breakdown] = Breakdown.NONE,
    *,
    narrowing: NamedDependency[Narrowing],
    asset: Ref = None,
) -> ReportParameters:
    """The parameters, unchecked, as every dependency here (see `endpoint`)."""
    return ReportParameters(period, mode, entry, window_days, by, narrowing, asset)


async def grouped_query(
    session: AsyncSession, asked: ReportParameters
) -> tuple[Period, ReportQuery]:
    """The question, checked: a 400 naming the parameter that cannot be answered."""
    period = asked.period.checked()
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
        **await asked.narrowing.ids(session),
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


class ReportController(ReportsController):
    @report_get(
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
        dependencies=GROUPED,
    )
    async def funnel(
        self,
        db_session: NamedDependency[AsyncSession],
        asked: NamedDependency[ReportParameters],
        answer: NamedDependency[Answer],
    ) -> Response[FunnelRead]:
        period, query = await grouped_query(db_session, asked)
        report = await ReportService(db_session).funnel(query)
        return answer(funnel_read(report, period), funnel_csv)

    @report_get(
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
        dependencies=GROUPED,
    )
    async def velocity(
        self,
        db_session: NamedDependency[AsyncSession],
        asked: NamedDependency[ReportParameters],
        answer: NamedDependency[Answer],
    ) -> Response[VelocityRead]:
        period, query = await grouped_query(db_session, asked)
        report = await ReportService(db_session).velocity(query)
        return answer(velocity_read(report, period), velocity_csv)

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
        db_session: NamedDependency[AsyncSession],
        period: NamedDependency[AskedPeriod],
        stage: FromQuery[LifecycleStage] = LifecycleStage.CUSTOMER,
        *,
        narrowing: NamedDependency[Narrowing],
        answer: NamedDependency[Answer],
    ) -> Response[AssetsRead]:
        checked = period.checked()
        narrowed = await narrowing.ids(db_session)
        query = AssetQuery(stage=stage, start=checked.start, end=checked.end, **narrowed)
        report = await ReportService(db_session).assets(query)
        return answer(assets_read(report, checked), assets_csv)

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
        db_session: NamedDependency[AsyncSession],
        period: NamedDependency[AskedPeriod],
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Paths shown.")] = 10,
        *,
        answer: NamedDependency[Answer],
    ) -> Response[PathsRead]:
        checked = period.checked()
        query = PathQuery(start=checked.start, end=checked.end, limit=limit)
        report = await ReportService(db_session).paths(query)
        return answer(paths_read(report, checked), paths_csv)
