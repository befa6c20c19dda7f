"""Validation problems: what pydantic or Litestar found wrong in a request, as a list of
fields, each with its place (`a.b[0]`), its source and the reason in plain words."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

from inbound.field_messages import choices_of, plain_error, plain_parameter_message
from inbound.problem_details import FieldError, problem_response


def plain_errors(items: Iterable[Mapping[str, Any]], source: str) -> list[FieldError]:
    """Pydantic's errors as fields, each with its path and the reason in plain words."""
    errors = []
    for item in items:
        loc, message = plain_error(item)
        if loc and loc[-1] == "[key]":  # pydantic's mark of a mapping's key, not its value
            loc, message = loc[:-1], f"the name {message}"
        field = _field_path(".".join(str(part) for part in loc)) or source
        errors.append(FieldError(field=field, message=message, source=source))
    return errors


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    # A body model's errors come from pydantic (Litestar keeps them as the cause), with the
    # kinds and limits that plain words need; parameters' come from msgspec, as text.
    body_errors = getattr(exc.__cause__, "errors", None)
    if isinstance(body_errors, list) and all(isinstance(e, dict) for e in body_errors):
        errors = plain_errors(body_errors, "body")
    else:
        errors = [
            _parameter_error(request, item)
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, dict)
        ]
    missing = _MISSING_PARAMETER.match(exc.detail or "")
    if not errors and missing:
        source, name = missing.groups()
        errors = [FieldError(field=name, message="required", source=source)]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or exc.detail
    return problem_response(request, 400, detail=detail, problem="validation", errors=errors)


def _parameter_error(request: Request[Any, Any, Any], item: dict[str, Any]) -> FieldError:
    key = str(item.get("key") or "body")
    if key == BODY_ARGUMENT:  # no body at all: the handler's argument is no name to the caller
        return FieldError(field="body", message="required: a JSON object", source="body")
    message = str(item.get("message", "invalid value"))
    source = item.get("source")
    declared = _declared_parameter(request, key)
    # The name the caller sent (`from`), not the handler's argument (`from_date`).
    kwarg = getattr(declared, "kwarg_definition", None)
    name = getattr(kwarg, "name", None) if isinstance(kwarg, ParameterKwarg) else None
    return FieldError(
        field=_field_path(name or key),
        message=plain_parameter_message(
            message, choices_of(declared.annotation) if declared is not None else None
        ),
        source=str(getattr(source, "value", source)) if source else None,
    )


def _declared_parameter(request: Request[Any, Any, Any], key: str) -> FieldDefinition | None:
    """How a parameter is declared, in the handler's or a dependency's signature."""
    handler = request.scope.get("route_handler")
    if handler is None:
        return None
    signatures = [handler.parsed_fn_signature]
    signatures += [
        provider.parsed_fn_signature
        for provider in handler.resolve_dependencies().values()
        if getattr(provider, "parsed_fn_signature", None) is not None
    ]
    for signature in signatures:
        field = signature.parameters.get(key)
        if field is not None:
            return field
    return None


# The argument Litestar hands a request's body to.
BODY_ARGUMENT = "data"
# How Litestar says that a declared parameter was not sent.
_MISSING_PARAMETER = re.compile(r"Missing required (query|header|cookie|path) parameter '([^']+)'")


def _field_path(dotted: str) -> str:
    """`rules.0.weight` as `rules[0].weight`, the form every other error uses."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", dotted)
