import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field

from inbound.personas.rules import PersonaRule
from inbound.schemas import (
    JSON_INTEGER,
    LongText,
    Name,
    RequestSchema,
    ResponseSchema,
    ShortText,
    Slug,
    UpdateSchema,
)

Statements = Annotated[list[ShortText], Field(max_length=50)]
Rules = Annotated[list[PersonaRule], Field(max_length=100)]
Priority = Annotated[
    int, Field(ge=-1000, le=1000, description="Breaks ties in mapping: higher wins."), JSON_INTEGER
]


class PersonaCreate(RequestSchema):
    """A new persona. Without a slug, one is made from the name."""

    slug: Slug | None = None
    name: Name
    description: LongText | None = None
    goals: Statements = Field(default_factory=list)
    pain_points: Statements = Field(default_factory=list)
    rules: Rules = Field(default_factory=list)
    priority: Priority = 0


class PersonaUpdate(UpdateSchema):
    """Fields to change; the others stay as they are. `rules` replaces all rules."""

    nullable: ClassVar[frozenset[str]] = frozenset({"description"})

    slug: Slug | None = None
    name: Name | None = None
    description: LongText | None = None
    goals: Statements | None = None
    pain_points: Statements | None = None
    rules: Rules | None = None
    priority: Priority | None = None
    archived: bool | None = None


class PersonaRead(ResponseSchema):
    id: uuid.UUID
    slug: str
    name: str
    description: str | None
    goals: list[str]
    pain_points: list[str]
    rules: list[dict[str, Any]] = Field(description="Matching rules, as given.")
    priority: int
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
