import re
import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, Strict, StringConstraints

from inbound.content.forms import FieldType
from inbound.content.models import AssetKind, FunnelStage
from inbound.field_messages import describe_pattern
from inbound.schemas import (
    JSON_INTEGER,
    NOT_BLANK,
    HttpUrl,
    LongText,
    Name,
    RequestSchema,
    ResponseSchema,
    ShortText,
    Slug,
    UpdateSchema,
)

TOPIC_LENGTH = 64
FORM_FIELD_NAME = describe_pattern(
    r"^[a-z][a-z0-9_]{0,63}$",
    "must start with a lowercase letter and hold only lowercase letters, digits and _ (at most 64)",
)
STANDARD_FORM_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "industry",
    "company_size",
)


def normalise_topic(topic: str) -> str:
    """Topics compare case- and spacing-insensitively: `Lead  Scoring` is `lead scoring`."""
    normalised = re.sub(r"\s+", " ", topic.strip()).lower()
    # Lower-casing can lengthen a string (İ becomes two characters); the column holds 64.
    if len(normalised) > TOPIC_LENGTH:
        raise ValueError(f"at most {TOPIC_LENGTH} characters once lower-cased")
    return normalised


Topic = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TOPIC_LENGTH, pattern=NOT_BLANK),
    AfterValidator(normalise_topic),
]
Topics = Annotated[
    list[Topic],
    Field(max_length=20, examples=[["lead scoring"]]),
    AfterValidator(lambda topics: list(dict.fromkeys(topics))),
]
Ref = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK),
    Field(description="An id or a slug.", examples=["it-director"]),
]
# Enums arrive as JSON strings, so they are the one place strict mode must not apply.
Kind = Annotated[AssetKind, Strict(False)]
Stage = Annotated[FunnelStage, Strict(False)]
Relevance = Annotated[int, Field(ge=1, le=3, description="1 low, 2 medium, 3 high."), JSON_INTEGER]


class FormField(RequestSchema):
    """A field a gated asset's form asks for."""

    name: str = Field(
        pattern=FORM_FIELD_NAME,
        max_length=64,
        description=f"One of {', '.join(STANDARD_FORM_FIELDS)}, or a custom field name.",
        examples=["job_title"],
    )
    label: ShortText | None = None
    required: bool = True
    type: Annotated[FieldType, Strict(False)] | None = Field(
        default=None,
        description="How a page renders it; by default what the standard field takes "
        "(`email`, `tel` for phone, `number` for company_size, `checkbox` for consent), "
        "else `text`.",
    )
    options: Annotated[list[ShortText], Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="The choices of a `select` field, and only of one."
    )
    text_version: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK)] | None
    ) = Field(
        default=None,
        description="For the `consent` field only: the version of the consent text its label "
        "holds, which the page posts as `consent_text_version`.",
    )


FormFields = Annotated[list[FormField], Field(max_length=30)]


class PersonaTag(RequestSchema):
    """Tag an asset to a persona."""

    persona: Ref
    relevance: Relevance = 2


PersonaTags = Annotated[list[PersonaTag], Field(max_length=100)]


class AssetCreate(RequestSchema):
    """A new content asset. A gated one needs a `delivery_url`; its form always asks for email."""

    slug: Slug | None = None
    title: Name
    description: LongText | None = None
    kind: Kind
    funnel_stage: Stage
    topics: Topics = Field(default_factory=list)
    url: HttpUrl | None = None
    gated: bool = False
    form_fields: FormFields = Field(default_factory=list)
    delivery_url: HttpUrl | None = None
    personas: PersonaTags = Field(default_factory=list)


class AssetUpdate(UpdateSchema):
    """Fields to change; the others stay. `topics`, `form_fields` and `personas` replace."""

    nullable: ClassVar[frozenset[str]] = frozenset({"description", "url", "delivery_url"})

    slug: Slug | None = None
    title: Name | None = None
    description: LongText | None = None
    kind: Kind | None = None
    funnel_stage: Stage | None = None
    topics: Topics | None = None
    url: HttpUrl | None = None
    gated: bool | None = None
    form_fields: FormFields | None = None
    delivery_url: HttpUrl | None = None
    personas: PersonaTags | None = None
    archived: bool | None = None


class PersonaTagsReplace(RequestSchema):
    """The complete set of persona tags an asset should have."""

    personas: PersonaTags


class AssetPersonaRead(ResponseSchema):
    """A persona an asset is tagged to."""

    persona_id: uuid.UUID
    slug: str
    name: str
    relevance: int


class FormFieldRead(ResponseSchema):
    name: str
    label: str | None
    required: bool
    type: FieldType | None = None
    options: list[str] | None = None
    text_version: str | None = None


class AssetRead(ResponseSchema):
    id: uuid.UUID
    slug: str
    title: str
    description: str | None
    kind: Kind
    funnel_stage: Stage
    topics: list[str]
    url: str | None
    gated: bool
    form_fields: list[FormFieldRead]
    delivery_url: str | None = Field(description="Where a lead gets the asset after the form.")
    personas: list[AssetPersonaRead]
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class AssetTagRemove(RequestSchema):
    asset: Ref
    persona: Ref


class AssetTagSet(AssetTagRemove):
    relevance: Relevance = 2


class AssetTagsBulk(RequestSchema):
    """Tag and untag many assets at once; all of it happens or none of it."""

    set: Annotated[list[AssetTagSet], Field(max_length=1000)] = Field(
        default_factory=list, description="Add these tags, or change their relevance."
    )
    remove: Annotated[list[AssetTagRemove], Field(max_length=1000)] = Field(
        default_factory=list, description="Remove these tags; absent ones are ignored."
    )


class AssetTagsBulkResult(ResponseSchema):
    set: int
    removed: int
