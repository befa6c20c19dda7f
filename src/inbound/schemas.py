"""Base classes and field types shared by every domain's request and response schemas."""

import re
import uuid
from typing import Annotated, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from slugify import slugify

from inbound.errors import BadRequest

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_UUID_SHAPE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


class RequestSchema(BaseModel):
    """What a client sends: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseSchema(BaseModel):
    """What we answer, built from table rows."""

    model_config = ConfigDict(from_attributes=True)


def looks_like_uuid(text: str) -> bool:
    """True for the canonical 8-4-4-4-12 form that paths use for ids."""
    return _UUID_SHAPE.match(text) is not None


def _not_uuid_shaped(slug: str) -> str:
    # Resources are addressed by id or slug in one path segment, so a slug must never read as an id.
    if looks_like_uuid(slug):
        raise ValueError("a slug must not look like a UUID")
    return slug


Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=SLUG_PATTERN),
    AfterValidator(_not_uuid_shaped),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=5000)]


def parse_ref(ref: str) -> uuid.UUID | str:
    """Read a path segment that names a resource by id or by slug."""
    return uuid.UUID(ref) if looks_like_uuid(ref) else ref


class UpdateSchema(RequestSchema):
    """A partial update: absent fields stay; null clears only the fields listed in `nullable`."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _null_only_where_allowed(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


def slug_from(text: str) -> str:
    """A slug made from a name or title, for clients that send none."""
    slug = slugify(text, max_length=64, word_boundary=True)
    if not slug or looks_like_uuid(slug):
        raise BadRequest("cannot make a slug from this name; send `slug`", field="slug")
    return slug
