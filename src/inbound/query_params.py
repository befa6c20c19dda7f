"""Query parameters: unknown ones are refused, so a misspelt filter never silently matches
everything; filters by id or slug, and times, are declared and read alike everywhere."""

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, get_args

from litestar.connection import ASGIConnection
from litestar.constants import RESERVED_KWARGS
from litestar.handlers import BaseRouteHandler
from litestar.params import Parameter, ParameterKwarg
from litestar.typing import FieldDefinition

from inbound.errors import BadRequest, FieldError
from inbound.schemas import NO_NUL

_PATH_PARAMETER = re.compile(r"{([^:}]+)")
_CACHE_KEY = "declared_query_parameters"
_NOT_TEXT_KEY = "optional_query_parameters_not_text"


def refuse_unknown_query_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A guard answering 400, naming each query parameter the operation does not declare."""
    if not connection.query_params or connection.scope.get("method") == "OPTIONS":
        return
    declared: frozenset[str] | None = handler.opt.get(_CACHE_KEY)
    if declared is None:
        declared = handler.opt[_CACHE_KEY] = declared_query_parameters(handler)
    repeated = sorted(
        name for name in declared if len(connection.query_params.getall(name, [])) > 1
    )
    if repeated:
        _refuse(repeated, "given more than once", f"query parameter(s) given more than once: "
                f"{', '.join(repeated)}")  # fmt: skip
    nulls = sorted(
        name for name in _not_text(handler) if connection.query_params.get(name) == "null"
    )
    if nulls:
        # Left alone, an optional enum, number or flag would read `null` as not given at all.
        _refuse(nulls, "not a valid value", f"`null` is not a value of {', '.join(nulls)}; "
                "leave the parameter out instead")  # fmt: skip
    unknown = sorted(set(connection.query_params) - declared)
    if unknown:
        _refuse(unknown, "unknown query parameter", f"unknown query parameter(s): "
                f"{', '.join(unknown)}; this operation takes: "
                f"{', '.join(sorted(declared)) or 'none'}")  # fmt: skip


def _refuse(names: list[str], message: str, detail: str) -> None:
    raise BadRequest(
        detail, errors=[FieldError(field=name, message=message, source="query") for name in names]
    )


def _parameters(handler: BaseRouteHandler) -> Iterator[tuple[str, FieldDefinition]]:
    """The parameters of the handler's signature and of its dependencies' signatures."""
    yield from handler.parsed_fn_signature.parameters.items()
    for provider in handler.resolve_dependencies().values():
        signature = getattr(provider, "parsed_fn_signature", None)
        if signature is not None:
            yield from signature.parameters.items()


def declared_query_parameters(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameter names a handler's signature, or a dependency's, declares."""
    path_parameters = {name for path in handler.paths for name in _PATH_PARAMETER.findall(path)}
    skip = RESERVED_KWARGS | path_parameters | set(handler.resolve_dependencies())
    names = set()
    for name, field in _parameters(handler):
        if name in skip:
            continue
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
            continue
        names.add(_query_name(name, kwarg))
    return frozenset(names)


def _not_text(handler: BaseRouteHandler) -> frozenset[str]:
    """The optional query parameters whose values are not text (enums, numbers, flags, ids)."""
    found: frozenset[str] | None = handler.opt.get(_NOT_TEXT_KEY)
    if found is None:
        declared = declared_query_parameters(handler)
        names = set()
        for name, field in _parameters(handler):
            query_name = _query_name(name, field.kwarg_definition)
            text = str in get_args(field.annotation)
            if query_name in declared and field.is_optional and not text:
                names.add(query_name)
        found = handler.opt[_NOT_TEXT_KEY] = frozenset(names)
    return found


def _query_name(name: str, kwarg: Any) -> str:
    """The name a parameter goes by in the query string."""
    if isinstance(kwarg, ParameterKwarg):
        return kwarg.query or kwarg.name or name
    return name


def ref_filter(description: str) -> Any:
    """An optional query parameter naming a resource by its id or slug."""
    return Parameter(default=None, max_length=64, pattern=NO_NUL, description=description)


def parse_instant(
    given: str | None, *, refuse: Callable[..., Exception], field: str
) -> datetime | None:
    """An RFC 3339 query parameter as an aware UTC instant; `refuse` makes the 400 for a bad one."""
    if given is None:
        return None
    try:
        # In UTC here, so that a time the database cannot hold is refused now.
        return datetime.fromisoformat(given).astimezone(UTC)
    except (ValueError, OverflowError):
        raise refuse(f"not a time: {given!r}", field=field) from None
