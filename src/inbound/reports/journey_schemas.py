"""What the journey report answers."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from inbound.leads.stages import LifecycleStage
from inbound.reports.query import Mode
from inbound.reports.schemas import PeriodRead, StageRatio
from inbound.reports.survey_schemas import SurveyFiguresRead
from inbound.schemas import ResponseSchema


class ScaleFiguresRead(ResponseSchema):
    scale_min: int
    scale_max: int = Field(description="CES answers of different scales are never mixed.")
    figures: SurveyFiguresRead


class JourneyStageRead(ResponseSchema):
    stage: LifecycleStage
    count: int = Field(description="Contacts that reached the stage, as the funnel counts them.")
    from_previous: StageRatio | None = Field(
        description="This stage's count over the one before, as the funnel gives it; null "
        "for the first stage."
    )
    nps: SurveyFiguresRead = Field(
        description="NPS of the answers given inside the period while the contact stood at "
        "this stage."
    )
    ces: list[ScaleFiguresRead] = Field(
        description="CES of those answers, one entry per scale (1-5, 1-7), every scale a CES "
        "survey asks on shown, with `n` 0 when nobody answered on it."
    )
    csat: SurveyFiguresRead = Field(description="CSAT of those answers.")


class JourneyRead(PeriodRead):
    mode: Mode
    ratio_kind: Literal["conversion", "throughput"] = Field(
        description="`conversion` in cohort mode, `throughput` in period mode (as the funnel)."
    )
    window_days: int | None
    as_of: datetime
    persona: str | None = Field(description="The persona's slug when the report is narrowed.")
    site: uuid.UUID | None
    stages: list[JourneyStageRead] = Field(description="Every lifecycle stage, in funnel order.")
