"""Unknown query parameters are refused, so a misspelt filter never silently matches everything."""

import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.constants import RESERVED_KWARGS
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg

from inbound.errors import BadRequest, FieldError

_PATH_PARAMETER = re.compile(r"{([^:}]+)")
_CACHE_KEY = "declared_query_parameters"


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
        raise BadRequest(
            f"query parameter(s) given more than once: {', '.join(repeated)}",
            errors=[
                FieldError(field=name, message="given more than once", source="query")
                for name in repeated
            ],
        )
    unknown = sorted(set(connection.query_params) - declared)
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"this operation takes: {', '.join(sorted(declared)) or 'none'}",
            errors=[
                FieldError(field=name, message="unknown query parameter", source="query")
                for name in unknown
            ],
        )


def declared_query_parameters(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameter names a handler's signature declares."""
    path_parameters = {name for path in handler.paths for name in _PATH_PARAMETER.findall(path)}
    skip = RESERVED_KWARGS | path_parameters | set(handler.resolve_dependencies())
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in skip:
            continue
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
            continue
        names.add(kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name)
    return frozenset(names)
