"""`/api/v1/reports/journey`: each lifecycle stage's count and conversion beside the NPS, CES
and CSAT of the answers given at it."""

import uuid
from typing import Any

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.reports.controller import WINDOW, ReportParameters, WindowDays, grouped_query
from inbound.reports.endpoint import ReportsController, answer_as_asked, report_get
from inbound.reports.journey_report import (
    JOURNEY_ENTRY,
    JourneyQuery,
    journey_csv,
    journey_report,
    persona_slug,
)
from inbound.reports.journey_schemas import JourneyRead
from inbound.reports.params import PERIOD, Format, FromDate, Ref, TimeZone, ToDate
from inbound.reports.query import Breakdown, Mode
from inbound.reports.survey_controller import DEFINITIONS

JOURNEY = (
    "Every lifecycle stage in funnel order (subscriber to evangelist) with the funnel report's "
    "count and its rate from the stage before, numerator and denominator: the numbers of "
    "`/api/v1/reports/funnel?entry=subscriber` for the same `from`, `to`, `tz`, `mode`, "
    "`window_days`, `persona` and `site`. **Cohort mode** (the default): the contacts that "
    "reached `subscriber` (every contact, once it entered the funnel) inside the period, "
    "counted at each stage they reached by now, or within `window_days`; young cohorts look "
    "worse until they mature. **Period mode**: each stage counts who reached it inside the "
    "period; the rates are throughput, not conversion, and may exceed 1. Beside each stage, "
    "the NPS, the CES (an entry per scale) and the CSAT of the survey answers given inside the "
    "period while the contact stood at that stage (the stage the answer recorded); answers of "
    "visitors not yet contacts stand at no stage. `persona` (id or slug) narrows the contacts "
    "to those with that persona now, and the answers to those given with that persona; `site` "
    "narrows both to the contacts whose first touch was on that site. Naming a persona or site "
    "that does not exist is a 400. "
)


class JourneyReportController(ReportsController):
    @report_get(
        "/journey",
        operation_id="journeyReport",
        summary="Each stage's count and conversion, with the NPS, CES and CSAT given at it",
        description=JOURNEY + DEFINITIONS + PERIOD + WINDOW,
        csv="a row per stage and metric (CES: per scale), with the stage's count and rate on each",
    )
    async def journey(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        from_date: FromDate,
        to_date: ToDate,
        tz: TimeZone = "UTC",
        mode: FromQuery[Mode] = Mode.COHORT,
        window_days: WindowDays = None,
        persona: Ref = None,
        site: FromQuery[uuid.UUID | None] = None,
        format: Format = None,
    ) -> Response[JourneyRead]:
        asked = ReportParameters(
            from_date, to_date, tz, mode, JOURNEY_ENTRY, window_days, Breakdown.NONE, persona,
            site, None,
        )  # fmt: skip
        period, funnel = await grouped_query(db_session, asked)
        query = JourneyQuery(funnel, await persona_slug(db_session, funnel))
        report = await journey_report(db_session, query, period)
        return answer_as_asked(request, format, report, journey_csv)
