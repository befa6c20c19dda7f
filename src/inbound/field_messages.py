"""Plain words for what is wrong with a field, in place of the validators' own wording.

Pydantic and msgspec say "String should match pattern '^(a|b)$'" or "Input tag 'x' found using
'operator' does not match any of the expected tags"; a caller needs "must be one of: a, b".
Both validators' errors are reworded here, for the body and for parameters alike.
"""

import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

# How a pattern reads to a person, by pattern; `describe_pattern` fills it where one is made.
_PATTERN_WORDING: dict[str, str] = {}
# The tags of discriminated unions: pydantic puts the chosen one in an error's location
# (`rules.0.equals.field`), where a caller knows no such field.
_UNION_TAGS: set[str] = set()
# `^(a|b|c)$`: a pattern that only lists names.
_ALTERNATIVES = re.compile(r"^\^\(([\w|]+)\)\$$")
# `'a', 'b' or 'c'`: how pydantic lists expected values.
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")

_TYPE_WORDING = {
    "missing": "required",
    "extra_forbidden": "unknown field; leave it out",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "datetime_type": "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z",
    "datetime_parsing": "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z",
    "json_invalid": "is not valid JSON",
    "json_type": "must be JSON",
    "none_required": "must be null",
    "string_not_ascii": "must be ASCII text",
}
_BOUNDS = {
    "greater_than": ("gt", "must be greater than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "multiple_of": ("multiple_of", "must be a multiple of {}"),
    "string_too_short": ("min_length", "must have at least {} character(s)"),
    "string_too_long": ("max_length", "must have at most {} characters"),
    "too_short": ("min_length", "must have at least {} item(s)"),
    "too_long": ("max_length", "must have at most {} items"),
}
# msgspec, for parameters: "Expected `int` <= 500", "Expected `str` of length <= 64", ...
_MSGSPEC_BOUND = re.compile(r"^Expected `\w+`( of length)? (<=|>=|<|>) (\S+)$")
_MSGSPEC_BOUND_WORDING = {
    ("", "<="): "must be at most {}", ("", ">="): "must be at least {}",
    ("", "<"): "must be less than {}", ("", ">"): "must be greater than {}",
    (" of length", "<="): "must have at most {} characters",
    (" of length", ">="): "must have at least {} character(s)",
}  # fmt: skip
# An optional parameter's type is `float | null`: the value sent must be the first.
_MSGSPEC_TYPE = re.compile(r"^Expected `([^`|]+?)(?: \| null)?`, got `[^`]+`$")
# msgspec's words for a date, time or id it cannot read.
_MSGSPEC_INVALID = {
    "Invalid RFC3339 encoded date": "must be a date (YYYY-MM-DD)",
    "Invalid RFC3339 encoded datetime": "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z",
    "Invalid UUID": "must be a UUID",
}
_MSGSPEC_TYPE_WORDING = {
    "int": "must be an integer", "float": "must be a number", "str": "must be a string",
    "bool": "must be true or false", "array": "must be a list", "object": "must be an object",
    "uuid": "must be a UUID", "date": "must be a date (YYYY-MM-DD)",
}  # fmt: skip
_MSGSPEC_PATTERN = re.compile(r"^Expected `str` matching regex '(.*)'$")


def describe_pattern(pattern: str, wording: str) -> str:
    """Record how ``pattern`` reads to a person ("must be ..."), and give the pattern back."""
    _PATTERN_WORDING[pattern] = wording
    return pattern


def describe_union_tags(tags: Iterable[str]) -> None:
    """Record the tags of a discriminated union, so that error locations leave them out."""
    _UNION_TAGS.update(tags)


def _expected_values(expected: str) -> list[str]:
    """The values pydantic lists as expected: quoted (`'a', 'b' or 'c'`), or bare numbers
    (`5 or 7`)."""
    return _QUOTED.findall(expected) or [v for v in re.split(r", | or ", expected) if v]


def one_of(values: Iterable[object]) -> str:
    """The message for a value outside a closed list."""
    return "must be one of: " + ", ".join(str(value) for value in values)


def pattern_message(pattern: str) -> str:
    """What a value that does not match ``pattern`` should have been."""
    if pattern in _PATTERN_WORDING:
        return _PATTERN_WORDING[pattern]
    alternatives = _ALTERNATIVES.match(pattern)
    if alternatives:
        return one_of(alternatives.group(1).split("|"))
    return "is not in the form this field takes (see its pattern in the API contract)"


def plain_error(error: Mapping[str, Any]) -> tuple[tuple[Any, ...], str]:
    """The location and plain message of one pydantic error."""
    kind: str = error.get("type", "")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    loc = tuple(part for part in error.get("loc", ()) if part not in _UNION_TAGS)
    if kind in {"literal_error", "enum"}:
        return loc, one_of(_expected_values(str(ctx.get("expected", ""))))
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        # Point at the field that chooses the kind of object, not at the object.
        tag_field = str(ctx.get("discriminator", "")).strip("'")
        loc = (*loc, tag_field) if tag_field else loc
        if kind == "union_tag_not_found":
            return loc, "required"
        return loc, one_of(_QUOTED.findall(str(ctx.get("expected_tags", ""))))
    if kind == "string_pattern_mismatch":
        return loc, pattern_message(str(ctx.get("pattern", "")))
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return loc, "must not be empty"
    if kind in _BOUNDS:
        name, wording = _BOUNDS[kind]
        return loc, wording.format(ctx.get(name))
    if kind in {"value_error", "assertion_error"}:
        return loc, str(ctx.get("error") or error.get("msg", "invalid value"))
    return loc, _TYPE_WORDING.get(kind) or str(error.get("msg", "invalid value"))


def plain_parameter_message(message: str, choices: list[str] | None) -> str:
    """A parameter's message from Litestar (msgspec's wording), in plain words."""
    if message.startswith("Invalid enum value") and choices:
        return one_of(choices)
    if found := _MSGSPEC_PATTERN.match(message):
        # msgspec quotes the pattern as Python's repr does: each backslash doubled.
        return pattern_message(found.group(1).replace("\\\\", "\\"))
    if found := _MSGSPEC_BOUND.match(message):
        length, operator, bound = found.groups()
        wording = _MSGSPEC_BOUND_WORDING.get((length or "", operator))
        return wording.format(bound) if wording else message
    if found := _MSGSPEC_TYPE.match(message):
        return _MSGSPEC_TYPE_WORDING.get(found.group(1), message)
    return _MSGSPEC_INVALID.get(message, message)


def choices_of(annotation: Any) -> list[str] | None:
    """The values a closed type (an Enum or a Literal, maybe optional) allows, else None."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [str(value) for value in typing.get_args(annotation)]
    if origin in {typing.Union, types.UnionType, typing.Annotated}:
        for inner in typing.get_args(annotation):
            if (found := choices_of(inner)) is not None:
                return found
    return None
