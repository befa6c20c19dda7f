"""What the survey report answers."""

from datetime import date

from pydantic import Field

from inbound.reports.schemas import PeriodRead
from inbound.reports.survey_query import SurveyBreakdown, Trend
from inbound.schemas import ResponseSchema
from inbound.surveys.models import Metric


class SurveyFiguresRead(ResponseSchema):
    """One metric's figures over some answers. With no answers (`n` 0) the counts are 0 and
    every figure worked out from them is null, never 0."""

    n: int = Field(description="Answers counted (skipped questions are not answers).")
    value: float | None = Field(
        description="NPS: % promoters - % detractors (-100 to 100), to 2 decimals. CES: the "
        "mean score on the scale, to 3 decimals. CSAT: % of 4s and 5s, to 2 decimals."
    )
    low: float | None = Field(
        description="The 95% interval's lower end (NPS: normal, clipped to -100..100; CES: "
        "Student's t with n - 1 degrees of freedom, null below 2 answers; CSAT: Wilson)."
    )
    high: float | None = Field(description="The 95% interval's upper end.")
    promoters: int | None = Field(description="NPS: answers of 9 or 10; null otherwise.")
    passives: int | None = Field(description="NPS: answers of 7 or 8; null otherwise.")
    detractors: int | None = Field(description="NPS: answers of 0 to 6; null otherwise.")
    top_box: int | None = Field(
        description="CES: answers in the top 2 points of a 1-5 scale or the top 3 of a 1-7 "
        "scale; CSAT: answers of 4 or 5; null for NPS."
    )
    top_box_share: float | None = Field(
        description="CES: `top_box` over `n`, in %, to 2 decimals; null otherwise (CSAT's "
        "`value` is its top-box share)."
    )
    top_box_low: float | None = Field(description="CES: the share's Wilson 95% interval.")
    top_box_high: float | None


class SurveyBucketRead(ResponseSchema):
    bucket: str = Field(description="The month (`2026-03`) or ISO week (`2026-W09`).")
    from_date: date = Field(description="Its first day inside the period.")
    to_date: date = Field(description="Its last day inside the period.")
    figures: SurveyFiguresRead


class SurveyGroupRead(ResponseSchema):
    key: str | None = Field(
        description="The touchpoint's or survey's slug, the persona's slug or the stage; null "
        "for answers without a persona (or stage), and for the total."
    )
    label: str
    scale_min: int
    scale_max: int = Field(description="Answers of different scales are never mixed.")
    figures: SurveyFiguresRead = Field(description="Over the whole period.")
    trend: list[SurveyBucketRead] | None = Field(
        description="Per week or month when `trend` is asked, every bucket shown; else null."
    )


class SurveyReportRead(PeriodRead):
    metric: Metric
    by: SurveyBreakdown
    trend: Trend | None
    total: list[SurveyGroupRead] = Field(
        description="Every answer counted: one entry for NPS and CSAT; for CES one per scale."
    )
    groups: list[SurveyGroupRead] = Field(
        description="One entry per group (and, for CES, per scale); empty when `by` is `none`."
    )
