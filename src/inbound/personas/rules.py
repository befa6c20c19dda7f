"""Matching rules: how a contact's profile points to a persona (see the persona mapping)."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from inbound.schemas import RequestSchema

PROFILE_FIELDS = ("job_title", "industry", "company_size", "country", "seniority", "topic")
NUMERIC_FIELDS = ("company_size",)
_FORM_FIELD = re.compile(r"^form\.[a-z][a-z0-9_]{0,63}$")


def _known_field(field: str) -> str:
    if field in PROFILE_FIELDS or _FORM_FIELD.match(field):
        return field
    raise ValueError(
        f"unknown field {field!r}: use one of {', '.join(PROFILE_FIELDS)}, "
        "or form.<name> for a submitted form field"
    )


RuleField = Annotated[
    str,
    Field(max_length=70, examples=["job_title"]),
    AfterValidator(_known_field),
]
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Terms = Annotated[list[Term], Field(min_length=1, max_length=100)]
Weight = Annotated[float, Field(gt=0, le=100, description="How much this rule counts; > 0.")]


class _Rule(RequestSchema):
    field: RuleField
    weight: Weight = 1.0


class ContainsAnyRule(_Rule):
    """Matches when the field contains any of the terms (case-insensitive)."""

    operator: Literal["contains_any"]
    values: Terms


class EqualsRule(_Rule):
    """Matches when the field equals the value (case-insensitive)."""

    operator: Literal["equals"]
    value: Term


class OneOfRule(_Rule):
    """Matches when the field equals one of the values (case-insensitive)."""

    operator: Literal["one_of"]
    values: Terms


class BetweenRule(_Rule):
    """Matches when a numeric field lies within [min, max]; either bound may be left out."""

    operator: Literal["between"]
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "BetweenRule":
        if self.field not in NUMERIC_FIELDS and not self.field.startswith("form."):
            raise ValueError(f"`between` needs a numeric field: {', '.join(NUMERIC_FIELDS)}")
        if self.min is None and self.max is None:
            raise ValueError("`between` needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` is greater than `max`")
        return self


PersonaRule = Annotated[
    ContainsAnyRule | EqualsRule | OneOfRule | BetweenRule,
    Field(discriminator="operator"),
]
