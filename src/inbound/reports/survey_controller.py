"""`/api/v1/reports/surveys`: NPS, CES and CSAT per touchpoint, persona, stage or survey."""

from typing import Any

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.stages import LifecycleStage
from inbound.personas.service import filtered_persona_id
from inbound.reports.endpoint import ReportsController, answer_as_asked, report_get
from inbound.reports.params import PERIOD, Format, FromDate, Ref, TimeZone, ToDate
from inbound.reports.period import parse_period
from inbound.reports.survey_query import SurveyBreakdown, SurveyQuery, Trend, trend_buckets
from inbound.reports.survey_report import survey_csv, survey_report
from inbound.reports.survey_schemas import SurveyReportRead
from inbound.reports.survey_scope import filtered_survey_id, filtered_touchpoint_id
from inbound.surveys.models import AnswerSource, Metric

DEFINITIONS = (
    "**NPS** (`metric=nps`, 0-10) = % promoters (9-10) - % detractors (0-6) over the answers, "
    "from -100 to 100, never an average; its 95% interval is NPS ± 1.96·sqrt(100²·(p + d - "
    "(p - d)²)/n), clipped to ±100 (p, d: the shares of promoters and detractors). **CES** "
    "(`metric=ces`) is the mean score on its own scale, 1-5 or 1-7, never mixed: each scale "
    "is an entry of its own. Its interval is the mean ± t·s/sqrt(n), with Student's t at "
    "97.5% for n - 1 degrees of freedom and s the sample standard deviation (none below 2 "
    "answers), clipped to the scale; beside it the share of the top 2 points (1-5) or top 3 "
    "(1-7) with its Wilson interval. **CSAT** (`metric=csat`, 1-5) is the share of 4s and 5s, "
    "in %, with its Wilson 95% interval (z = 1.96). Every figure carries `n`, the answers "
    "counted; with none, the figures are null, never 0. "
)


class SurveyReportController(ReportsController):
    @report_get(
        "/surveys",
        operation_id="surveyReport",
        summary="NPS, CES or CSAT with 95% intervals, per group and per week or month",
        description=(
            DEFINITIONS
            + "The answers given inside the period count. `by` groups them by the touchpoint, "
            "the survey, or the persona or stage the contact had when answering (a group, key "
            "null, for answers without one); every group is shown, with `n` 0 when nobody in "
            "it answered. `trend=week` (ISO weeks, Monday first) or `month` adds the figures "
            "per bucket of the period in `tz`, every bucket shown, the first and last cut to "
            "the period. `touchpoint`, `survey` (id or slug), `persona` (id or slug) and "
            "`stage` narrow the answers; naming one that does not exist, or a survey of "
            "another metric, is a 400. `source=link` keeps the answers given through signed "
            "links (the contact is known for certain), `source=public` those posted by the "
            "sites' pages (anonymous, or naming a contact on the page's word). " + PERIOD
        ),
        csv="the same report as CSV, a row per group, scale and bucket (the whole period "
        "first, with an empty `bucket`)",
    )
    async def surveys(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        metric: FromQuery[Metric],
        from_date: FromDate,
        to_date: ToDate,
        tz: TimeZone = "UTC",
        by: FromQuery[SurveyBreakdown] = SurveyBreakdown.NONE,
        trend: FromQuery[Trend | None] = None,
        touchpoint: Ref = None,
        survey: Ref = None,
        persona: Ref = None,
        stage: FromQuery[LifecycleStage | None] = None,
        source: FromQuery[AnswerSource | None] = None,
        format: Format = None,
    ) -> Response[SurveyReportRead]:
        period = parse_period(from_date, to_date, tz)
        query = SurveyQuery(
            metric=metric,
            start=period.start,
            end=period.end,
            by=by,
            buckets=trend_buckets(period, trend) if trend else (),
            touchpoint_id=await filtered_touchpoint_id(db_session, touchpoint),
            survey_id=await filtered_survey_id(db_session, survey, metric),
            persona_id=await filtered_persona_id(db_session, persona, field="persona"),
            stage=stage,
            source=source,
        )
        report = await survey_report(db_session, query, period, trend)
        return answer_as_asked(request, format, report, survey_csv)
