"""What the next-best-content endpoints take and answer."""

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from inbound.field_messages import describe_pattern
from inbound.schemas import (
    JSON_INTEGER,
    NOT_BLANK,
    RequestSchema,
    ResponseSchema,
    UpdateSchema,
)

SLOT_PATTERN = describe_pattern(
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
    "must be letters, digits, `_`, `.`, `:` or `-`, starting with a letter or digit",
)
Slot = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SLOT_PATTERN)]
# An asset or persona named by id or slug.
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK)]
RuleStage = Literal[
    "anonymous", "subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"
]
Priority = Annotated[int, Field(ge=-1000, le=1000), JSON_INTEGER]
Campaign = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
Weight = Annotated[float, Field(ge=0, le=100)]


class RuleCreate(RequestSchema):
    """Pin an asset first for visitors who meet every condition given (a missing one: any)."""

    asset: Ref = Field(description="The asset to pin, by id or slug; not archived.")
    slot: Slot | None = Field(default=None, description="The slot it applies to; null: any.")
    persona: Ref | None = Field(
        default=None,
        description="Only for visitors of this persona (a contact's, or the one inferred "
        "from what an anonymous visitor read), by id or slug.",
    )
    stages: list[RuleStage] = Field(
        default_factory=list,
        max_length=8,
        description="Only for visitors at one of these lifecycle stages; `anonymous` is a "
        "visitor who is no contact yet. Empty: any.",
    )
    campaign: Campaign | None = Field(
        default=None, description="Only for visitors whose latest visit came from this "
        "`utm_campaign` (compared without case).",
    )  # fmt: skip
    viewed_asset: Ref | None = Field(
        default=None, description="Only for visitors who viewed this asset, by id or slug."
    )
    priority: Priority = Field(default=0, description="Higher first, from -1000 to 1000.")
    active: bool = True


class RuleUpdate(UpdateSchema):
    """A partial change of a rule; null clears a condition."""

    nullable: ClassVar[frozenset[str]] = frozenset({"slot", "persona", "campaign", "viewed_asset"})

    asset: Ref | None = None
    slot: Slot | None = None
    persona: Ref | None = None
    stages: list[RuleStage] | None = Field(default=None, max_length=8)
    campaign: Campaign | None = None
    viewed_asset: Ref | None = None
    priority: Priority | None = None
    active: bool | None = None


class RuleRead(ResponseSchema):
    """A pinned rule."""

    id: uuid.UUID
    asset_id: uuid.UUID
    slot: str | None
    persona_id: uuid.UUID | None
    stages: list[str]
    campaign: str | None
    viewed_asset_id: uuid.UUID | None
    priority: int
    active: bool
    created_at: datetime
    updated_at: datetime


class NbcSettings(RequestSchema):
    """How much each part of the blend counts (0 turns it off), and how fast interest fades."""

    persona_fit: Weight = Field(default=1.0, description="The asset's relevance to the persona.")
    topic_affinity: Weight = Field(
        default=1.0, description="The visitor's recent topics against the asset's."
    )
    stage_progression: Weight = Field(
        default=0.6, description="The next funnel phase first, the same next, earlier low."
    )
    covisitation: Weight = Field(
        default=0.8, description="Lift of the asset among visitors of the latest one viewed."
    )
    exploration: Weight = Field(
        default=0.3, description="A Thompson-sampled draw on the asset's click-through."
    )
    topic_half_life_days: float = Field(
        default=14.0, gt=0, le=3650, description="A view's topics count half after this long."
    )


class SuggestedAsset(ResponseSchema):
    """The asset as a page shows it."""

    id: uuid.UUID
    slug: str
    title: str
    kind: str
    stage: str
    public_url: str | None


class SuggestionRead(ResponseSchema):
    """One suggestion: the asset, its score, and why."""

    asset: SuggestedAsset
    score: float
    reason: str
    pinned: bool
    components: dict[str, float] = Field(
        description="Each part's weighted contribution to the score."
    )


class NextContent(ResponseSchema):
    """The next best content for a visitor in a slot, best first."""

    items: list[SuggestionRead]
    slot: str
    k: int
