"""Scoring and persona-mapping settings: documents an admin reads and replaces through the API."""

from typing import Annotated, Literal

from pydantic import Field

from inbound.errors import FieldError
from inbound.schemas import RequestSchema

Grade = Literal["A", "B", "C", "D"]
GRADES: tuple[Grade, ...] = ("A", "B", "C", "D")
Share = Annotated[float, Field(ge=0, le=1)]
Days = Annotated[float, Field(gt=0, le=3650)]


class ActivityPoints(RequestSchema):
    """What one kind of activity is worth, and the most it may earn in a period."""

    points: Annotated[float, Field(ge=-1000, le=1000)]
    cap: Annotated[float, Field(gt=0, le=100_000)] | None = Field(
        default=None, description="Most points this kind earns per contact in `cap_period_days`."
    )
    cap_period_days: Days = 1


class Activities(RequestSchema):
    """Points for each kind of activity we record."""

    form_capture: ActivityPoints = Field(
        default_factory=lambda: ActivityPoints(points=50, cap=150),
        description="A form submitted for an asset.",
    )
    asset_download: ActivityPoints = Field(
        default_factory=lambda: ActivityPoints(points=3, cap=30),
        description="An asset opened or downloaded.",
    )
    page_view: ActivityPoints = Field(
        default_factory=lambda: ActivityPoints(points=1, cap=20), description="A page viewed."
    )
    content_view: ActivityPoints = Field(
        default_factory=lambda: ActivityPoints(points=3, cap=30),
        description="A content asset viewed (an event about an asset, or `Content Viewed`).",
    )


class GradeThresholds(RequestSchema):
    """The least fit (0 to 1) for each grade; below C is D."""

    A: Share = 0.75
    B: Share = 0.5
    C: Share = 0.25


class MqlThresholds(RequestSchema):
    """A lead whose grade and engagement both reach these becomes marketing-qualified."""

    min_grade: Grade = "B"
    min_score: Annotated[float, Field(ge=0, le=1_000_000)] = 100


class ScoringSettings(RequestSchema):
    """Fit grades, engagement points with caps and decay, and when a lead becomes an MQL."""

    activities: Activities = Field(default_factory=Activities)
    half_life_days: Days = Field(
        default=30, description="Engagement points halve after this many days."
    )
    rule_strength_weight: Share = Field(
        default=0.7, description="Weight of the persona's rule strength in fit."
    )
    completeness_weight: Share = Field(
        default=0.3, description="Weight of profile completeness in fit."
    )
    grades: GradeThresholds = Field(default_factory=GradeThresholds)
    mql: MqlThresholds = Field(default_factory=MqlThresholds)

    def problems(self) -> list[FieldError]:
        """What makes these settings unusable although each field is valid on its own."""
        found = []
        if not self.grades.A >= self.grades.B >= self.grades.C:
            found.append(FieldError(field="grades", message="A >= B >= C is required"))
        if self.rule_strength_weight + self.completeness_weight <= 0:
            found.append(
                FieldError(
                    field="rule_strength_weight",
                    message="rule_strength_weight and completeness_weight cannot both be 0",
                )
            )
        return found


class MappingSettings(RequestSchema):
    """How rules and content combine into a persona, and how sure we must be to assign one."""

    rules_weight: Share = Field(default=0.6, description="Weight of rule strength.")
    content_weight: Share = Field(default=0.4, description="Weight of content affinity.")
    min_confidence: Share = Field(
        default=0.3, description="Below this, a contact stays without a persona."
    )
    content_half_life_days: Days = Field(
        default=90, description="A captured asset counts half as much after this many days."
    )

    def problems(self) -> list[FieldError]:
        """What makes these settings unusable although each field is valid on its own."""
        if self.rules_weight + self.content_weight <= 0:
            return [
                FieldError(
                    field="rules_weight", message="rules_weight and content_weight cannot both be 0"
                )
            ]
        return []
