"""The journey report: each lifecycle stage with the funnel's count and conversion into it,
and the NPS, CES and CSAT of the answers given at it, as JSON and as CSV.

The counts are the funnel report's, from its own query (entry stage `subscriber`, no
breakdown), so the two never disagree for the same filters. The figures are the survey
report's, from the same histograms and the same rounding.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.stages import LifecycleStage
from inbound.personas.service import PersonaService
from inbound.reports.journey_query import AnswerScope, StageHistograms, count_stage_answers
from inbound.reports.journey_schemas import JourneyRead, JourneyStageRead, ScaleFiguresRead
from inbound.reports.period import Period
from inbound.reports.query import Breakdown, ReportQuery
from inbound.reports.render import csv_text, funnel_read, period_fields
from inbound.reports.schemas import StageRatio
from inbound.reports.service import ReportService
from inbound.reports.survey_query import SurveyQuery
from inbound.reports.survey_report import FIGURE_COLUMNS, figures_read
from inbound.reports.survey_scope import scales
from inbound.surveys.figures import CSAT_SCALE, NPS_SCALE
from inbound.surveys.models import Metric

JOURNEY_ENTRY = LifecycleStage.SUBSCRIBER  # the journey shows every stage


@dataclass(frozen=True, slots=True)
class JourneyQuery:
    """The funnel's question from the first stage on, and the persona's slug to show."""

    funnel: ReportQuery
    persona_slug: str | None = None

    def __post_init__(self) -> None:
        if self.funnel.entry is not JOURNEY_ENTRY or self.funnel.by is not Breakdown.NONE:
            raise ValueError("a journey counts every stage, with no breakdown")

    @property
    def answers(self) -> AnswerScope:
        return AnswerScope(
            start=self.funnel.start,
            end=self.funnel.end,
            persona_id=self.funnel.persona_id,
            site_id=self.funnel.site_id,
        )


async def journey_report(session: AsyncSession, query: JourneyQuery, period: Period) -> JourneyRead:
    """Every stage's count and conversion, and the figures of the answers given at it."""
    funnel = funnel_read(await ReportService(session).funnel(query.funnel), period)
    histograms = await count_stage_answers(session, query.answers)
    answered = {scale for (metric, _), by_scale in histograms.items() if metric is Metric.CES
                for scale in by_scale}  # fmt: skip
    ces_scope = SurveyQuery(metric=Metric.CES, start=query.funnel.start, end=query.funnel.end)
    ces_scales = await scales(session, ces_scope, answered)
    into = {ratio.to_stage: ratio for ratio in funnel.total.from_previous}
    return JourneyRead(
        **period_fields(period),
        mode=funnel.mode,
        ratio_kind=funnel.ratio_kind,
        window_days=funnel.window_days,
        as_of=funnel.as_of,
        persona=query.persona_slug,
        site=query.funnel.site_id,
        stages=[
            _stage(counted.stage, counted.count, into.get(counted.stage), histograms, ces_scales)
            for counted in funnel.total.stages
        ],
    )


def _stage(
    stage: LifecycleStage,
    count: int,
    from_previous: StageRatio | None,
    histograms: StageHistograms,
    ces_scales: Iterable[int],
) -> JourneyStageRead:
    def of(metric: Metric, scale_max: int) -> Counter[int]:
        return histograms.get((metric, stage.value), {}).get(scale_max) or Counter()

    return JourneyStageRead(
        stage=stage,
        count=count,
        from_previous=from_previous,
        nps=figures_read(Metric.NPS, NPS_SCALE[1], of(Metric.NPS, NPS_SCALE[1])),
        ces=[
            ScaleFiguresRead(
                scale_min=1, scale_max=s, figures=figures_read(Metric.CES, s, of(Metric.CES, s))
            )
            for s in ces_scales
        ],
        csat=figures_read(Metric.CSAT, CSAT_SCALE[1], of(Metric.CSAT, CSAT_SCALE[1])),
    )


async def persona_slug(session: AsyncSession, query: ReportQuery) -> str | None:
    """The slug of the persona the report is narrowed to, to show beside the figures."""
    if query.persona_id is None:
        return None
    return (await PersonaService(session).get(str(query.persona_id))).slug


JOURNEY_COLUMNS = ["stage", "count", "from_stage", "numerator", "denominator", "rate",
                   "metric", "scale_min", "scale_max", *FIGURE_COLUMNS]  # fmt: skip


def journey_csv(report: JourneyRead) -> str:
    """One row per stage and metric (CES: per scale), the stage's count and conversion
    repeated on each, so that a spreadsheet can filter on any column."""
    rows: list[list[Any]] = []
    for stage in report.stages:
        ratio = stage.from_previous
        head = [stage.stage.value, stage.count,
                *(("", "", "", "") if ratio is None else
                  (ratio.from_stage.value, ratio.numerator, ratio.denominator,
                   "" if ratio.rate is None else ratio.rate))]  # fmt: skip
        entries = [("nps", *NPS_SCALE, stage.nps),
                   *(("ces", e.scale_min, e.scale_max, e.figures) for e in stage.ces),
                   ("csat", *CSAT_SCALE, stage.csat)]  # fmt: skip
        for metric, low, high, figures in entries:
            values = [getattr(figures, name) for name in FIGURE_COLUMNS]
            rows.append([*head, metric, low, high, *("" if v is None else v for v in values)])
    return csv_text(JOURNEY_COLUMNS, rows)
