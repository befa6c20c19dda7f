"""What the funnel report answers."""

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from inbound.leads.stages import LifecycleStage
from inbound.reports.funnel import Breakdown, Mode
from inbound.schemas import ResponseSchema


class StageCount(ResponseSchema):
    stage: LifecycleStage
    count: int


class StageRatio(ResponseSchema):
    """One stage's count over an earlier one's; `rate` is null when the earlier count is 0."""

    from_stage: LifecycleStage
    to_stage: LifecycleStage
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator, to 4 decimals.")
    drop_off: int = Field(description="denominator - numerator.")


class FunnelGroupRead(ResponseSchema):
    key: str | None = Field(
        description="The persona's or asset's slug, the site's id, or `source / medium`; "
        "null for contacts without one."
    )
    label: str
    stages: list[StageCount]
    from_previous: list[StageRatio] = Field(description="Each stage over the one before it.")
    from_entry: list[StageRatio] = Field(description="Each later stage over the entry stage.")


class FunnelRead(ResponseSchema):
    mode: Mode
    ratio_kind: Literal["conversion", "throughput"] = Field(
        description="`conversion` in cohort mode; in period mode the ratios are `throughput`: "
        "they compare counts of different contacts and may exceed 1."
    )
    entry_stage: LifecycleStage
    from_date: date
    to_date: date
    time_zone: str
    window_days: int | None
    as_of: datetime
    by: Breakdown
    total: FunnelGroupRead
    groups: list[FunnelGroupRead]
