"""What the reports answer."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from inbound.leads.stages import LifecycleStage
from inbound.reports.query import Breakdown, Mode
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


GROUP_KEY = Field(
    description="The persona's or asset's slug, the site's id, or `source / medium`; "
    "null for contacts without one."
)


class FunnelGroupRead(ResponseSchema):
    key: str | None = GROUP_KEY
    label: str
    stages: list[StageCount]
    from_previous: list[StageRatio] = Field(description="Each stage over the one before it.")
    from_entry: list[StageRatio] = Field(description="Each later stage over the entry stage.")


class PeriodRead(ResponseSchema):
    from_date: date
    to_date: date
    time_zone: str


class GroupedReportRead(PeriodRead):
    mode: Mode
    entry_stage: LifecycleStage
    window_days: int | None
    as_of: datetime
    by: Breakdown


class FunnelRead(GroupedReportRead):
    ratio_kind: Literal["conversion", "throughput"] = Field(
        description="`conversion` in cohort mode; in period mode the ratios are `throughput`: "
        "they compare counts of different contacts and may exceed 1."
    )
    total: FunnelGroupRead
    groups: list[FunnelGroupRead]


class StageSpan(ResponseSchema):
    """How long contacts took from one stage to a later one; null figures when none did."""

    from_stage: LifecycleStage
    to_stage: LifecycleStage
    contacts: int = Field(description="Contacts whose time between the two stages counts.")
    median_seconds: float | None
    p90_seconds: float | None = Field(description="The 90th percentile.")
    median_days: float | None = Field(description="`median_seconds` in days, to 2 decimals.")
    p90_days: float | None


class VelocityGroupRead(ResponseSchema):
    key: str | None = GROUP_KEY
    label: str
    from_previous: list[StageSpan] = Field(description="From each stage to the next.")
    from_entry: list[StageSpan] = Field(description="From the entry stage to each later one.")


class VelocityRead(GroupedReportRead):
    total: VelocityGroupRead
    groups: list[VelocityGroupRead]


class AssetCreditRead(ResponseSchema):
    id: uuid.UUID
    slug: str
    title: str
    kind: str
    funnel_stage: str
    captures: int = Field(description="Captures of this asset inside the period.")
    new_contacts: int = Field(
        description="Contacts whose first capture, inside the period, was of this asset."
    )
    first_touch: int = Field(description="Converted contacts whose first capture this was.")
    last_touch: int = Field(description="Converted contacts whose last capture this was.")
    linear: float = Field(
        description="Converted contacts' equal shares over their captures, to 4 decimals."
    )


class AssetsRead(PeriodRead):
    stage: LifecycleStage = Field(description="The stage whose conversions are attributed.")
    converted: int = Field(
        description="Contacts that reached the stage inside the period with at least one "
        "capture before: what each model's credits sum to."
    )
    unattributed: int = Field(
        description="Contacts that reached the stage inside the period with no capture before."
    )
    assets: list[AssetCreditRead]


class PathStepRead(ResponseSchema):
    """A content asset viewed (`asset_id`, `slug` set), or a page that is not one (`url`)."""

    asset_id: uuid.UUID | None
    slug: str | None
    url: str | None
    title: str = Field(description="The asset's title, or the page's title (else its URL).")


class CapturePathRead(ResponseSchema):
    path: str = Field(description='The steps and the capture, as "A → B → capture of C".')
    steps: list[PathStepRead] = Field(description="Up to 3 views, oldest first.")
    captured: PathStepRead = Field(description="The asset captured.")
    count: int = Field(description="Captures in the period that came this way.")
    share: float = Field(
        description="`count` over `with_behaviour`: the share of the captures with behaviour "
        "before them, to 4 decimals."
    )


class PathsRead(PeriodRead):
    captures: int = Field(description="Captures inside the period.")
    with_behaviour: int = Field(
        description="Of those, the captures whose visitor viewed content or pages before."
    )
    paths: list[CapturePathRead] = Field(description="The most frequent paths first.")
