"""Base classes and field types shared by every domain's request and response schemas."""

import re
import uuid
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from slugify import slugify

from inbound.errors import Unprocessable
from inbound.field_messages import describe_pattern

SLUG_PATTERN = describe_pattern(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "must be lower-case letters and digits, in words joined by single hyphens (it-director)",
)
_UUID_SHAPE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


class RequestSchema(BaseModel):
    """What a client sends: unknown fields and wrong JSON types are refused, never coerced."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def _refuse_null_in_schema(schema: dict[str, Any], model: type[Any]) -> None:
    """State in the contract that a partial update takes null only where `nullable` says."""
    for name, prop in schema.get("properties", {}).items():
        if name in model.nullable or "anyOf" not in prop:
            continue
        variants = [v for v in prop.pop("anyOf") if v.get("type") != "null"]
        prop.pop("default", None)
        if len(variants) == 1:
            prop.update(variants[0])
        else:
            prop["anyOf"] = variants


class ResponseSchema(BaseModel):
    """What we answer, built from table rows."""

    model_config = ConfigDict(from_attributes=True)


def _json_integer(value: object) -> object:
    # JSON Schema counts 3.0 as an integer; strict mode alone would refuse it. Booleans stay
    # refused. Put it after an integer's Field(...) so that the constraints reach the schema.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JSON_INTEGER = BeforeValidator(_json_integer)


def looks_like_uuid(text: str) -> bool:
    """True for the canonical 8-4-4-4-12 form that paths use for ids."""
    return _UUID_SHAPE.fullmatch(text) is not None


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
# Strings are stripped before they are checked, so "some character that str.strip() keeps" is
# the real minimum. The whitespace is spelt out because regex dialects disagree on `\s` (JSON
# Schema's leaves out U+0085). NUL is refused everywhere: PostgreSQL cannot store it in text.
_STRIPPED = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = describe_pattern(r"^[^\x00]*$", "must not contain the NUL character")
NOT_BLANK = describe_pattern(
    rf"^[^\x00]*[^{_STRIPPED}\x00][^\x00]*$", "must not be blank or contain the NUL character"
)
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
# An http(s) URL; the pattern is the whole rule, so the API contract states exactly what passes.
HttpUrl = Annotated[
    str,
    StringConstraints(
        max_length=2048,
        pattern=describe_pattern(
            r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\x00-\x20\x7f-\x9f]*)?$",
            "must be an http:// or https:// URL, without spaces",
        ),
    ),
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK)]
LongText = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


def parse_ref(ref: str) -> uuid.UUID | str:
    """Read a path segment that names a resource by id or by slug."""
    return uuid.UUID(ref) if looks_like_uuid(ref) else ref


class UpdateSchema(RequestSchema):
    """A partial update: absent fields stay; null clears only the fields listed in `nullable`."""

    model_config = ConfigDict(json_schema_extra=_refuse_null_in_schema)

    nullable: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as JSON values, with defaults filled in inside them."""
        # exclude_unset would also drop the defaults of nested items (a tag's relevance).
        sent = self.model_fields_set
        return {k: v for k, v in self.model_dump(mode="json").items() if k in sent}

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
        raise Unprocessable("cannot make a slug from this name; send `slug`", field="slug")
    return slug
