"""Matching rules: how a contact's profile points to a persona (see the persona mapping)."""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from inbound.field_messages import describe_pattern, describe_union_tags, one_of
from inbound.schemas import NOT_BLANK, RequestSchema

PROFILE_FIELDS = ("job_title", "industry", "company_size", "country", "seniority", "topic")
NUMERIC_FIELDS = ("company_size",)
_FORM_FIELD = r"form\.[a-z][a-z0-9_]{0,63}"

_FORM_FIELD_WORDING = "or form.<name> for a submitted form field (lower-case, digits and _)"


def _rule_field(fields: tuple[str, ...], description: str) -> Any:
    """A rule's `field`: one of ``fields``, or `form.<name>` for a submitted form field."""
    return Field(
        pattern=describe_pattern(
            rf"^({'|'.join(fields)}|{_FORM_FIELD})$", f"{one_of(fields)}, {_FORM_FIELD_WORDING}"
        ),
        description=description,
        examples=[fields[0]],
    )


RuleField = Annotated[
    str,
    _rule_field(PROFILE_FIELDS, "A profile field, or `form.<name>` for a submitted form field."),
]
NumericRuleField = Annotated[
    str, _rule_field(NUMERIC_FIELDS, "A numeric field: company size, or a submitted form field.")
]
Term = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)
]
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

    # "Not both bounds missing or null", stated with `not`: an `anyOf` of partial objects here
    # made client generators read the rule as a union of fragments without its other fields.
    model_config = ConfigDict(
        json_schema_extra={
            "not": {"properties": {"min": {"type": "null"}, "max": {"type": "null"}}}
        }
    )

    field: NumericRuleField
    operator: Literal["between"]
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> "BetweenRule":
        if self.min is None and self.max is None:
            raise ValueError("`between` needs `min`, `max` or both")
        return self


PersonaRule = Annotated[
    ContainsAnyRule | EqualsRule | OneOfRule | BetweenRule,
    Field(discriminator="operator"),
]
describe_union_tags(["contains_any", "equals", "one_of", "between"])
