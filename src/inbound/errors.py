"""Domain errors that know their HTTP status, and the one place that renders problem details.

Every error response is an RFC 9457 ``application/problem+json`` body. Validation problems
carry an ``errors`` list naming each offending field.
"""

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import ParameterKwarg
from litestar.types import ExceptionHandlersMap
from litestar.typing import FieldDefinition
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError

from inbound.field_messages import choices_of, plain_error, plain_parameter_message
from inbound.outage import unavailability

PROBLEM_JSON = "application/problem+json"
# Seconds a client should wait after a 503 for an unreachable database (a restart or failover
# takes a few).
RETRY_AFTER_UNAVAILABLE = "5"
logger = structlog.get_logger(__name__)


class FieldError(BaseModel):
    """One reason a request was refused, tied to the field it concerns."""

    field: str = Field(description="Path of the field, e.g. `form_fields[0].name`.")
    message: str
    source: str | None = Field(default=None, description="body, query, path or header.")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class InboundError(Exception):
    """A failure the client can act on; subclasses fix the status and problem type."""

    status_code: int = 400
    problem: str | None = None
    default_headers: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or ([FieldError(field=field, message=detail)] if field else None)
        self.headers = {**self.default_headers, **(headers or {})}
        # Members a client can act on beside the detail (RFC 9457 extension members).
        self.extensions = extensions or {}

    @classmethod
    def from_validation(cls, exc: ValidationError, *, source: str = "body") -> "InboundError":
        """A refusal naming every field pydantic found wrong, as `a.b[0]` paths, in plain words."""
        errors = _plain_errors(exc.errors(include_url=False), source)
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(detail, errors=errors)


def _plain_errors(items: Iterable[Mapping[str, Any]], source: str) -> list[FieldError]:
    errors = []
    for item in items:
        loc, message = plain_error(item)
        if loc and loc[-1] == "[key]":  # pydantic's mark of a mapping's key, not its value
            loc, message = loc[:-1], f"the name {message}"
        field = _field_path(".".join(str(part) for part in loc)) or source
        errors.append(FieldError(field=field, message=message, source=source))
    return errors


class BadRequest(InboundError):
    status_code = 400
    problem = "bad-request"


class Unauthorized(InboundError):
    status_code = 401
    problem = "unauthorized"
    default_headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="inbound"'}


class Forbidden(InboundError):
    status_code = 403
    problem = "forbidden"


class NotFound(InboundError):
    status_code = 404
    problem = "not-found"


class Conflict(InboundError):
    status_code = 409
    problem = "conflict"


class UnsupportedMediaType(InboundError):
    status_code = 415
    problem = "unsupported-media-type"


class TooManyRequests(InboundError):
    status_code = 429
    problem = "rate-limited"


class PreconditionFailed(InboundError):
    status_code = 412
    problem = "precondition-failed"


class Unprocessable(InboundError):
    status_code = 422
    problem = "unprocessable"


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    *,
    detail: str | None = None,
    problem: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """Render one problem-details response."""
    body = ProblemDetails(
        type=f"urn:inbound:problem:{problem}" if problem else "about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return Response(
        {**(extensions or {}), **body.model_dump(exclude_none=True)},
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def handle_inbound_error(request: Request[Any, Any, Any], exc: InboundError) -> Response[Any]:
    return problem_response(
        request,
        exc.status_code,
        detail=exc.detail,
        problem=exc.problem,
        errors=exc.errors,
        headers=exc.headers or None,
        extensions=exc.extensions,
    )


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    # A body model's errors come from pydantic (Litestar keeps them as the cause), with the
    # kinds and limits that plain words need; parameters' come from msgspec, as text.
    body_errors = getattr(exc.__cause__, "errors", None)
    if isinstance(body_errors, list) and all(isinstance(e, dict) for e in body_errors):
        errors = _plain_errors(body_errors, "body")
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


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        logger.error("request failed", status=exc.status_code, detail=exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, exc.status_code, detail=exc.detail, headers=headers)


def handle_integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    """A constraint a service did not foresee: only uniqueness and references are the client's."""
    if is_unique_violation(exc) or is_foreign_key_violation(exc):
        return problem_response(
            request, 409, detail="conflicts with existing data", problem="conflict"
        )
    return handle_unexpected_error(request, exc)


def handle_too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the JSON decoder recurses is the client's problem."""
    return problem_response(
        request, 400, detail="the body is nested too deeply", problem="validation"
    )


def handle_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A deadlock, a serialization failure or an unreachable database is transient: ask to
    retry."""
    if unavailability(exc) is not None:
        return handle_database_unavailable(request, exc)
    if _sqlstate(exc) in {"40P01", "40001"}:
        logger.warning("transaction aborted by the database; client asked to retry", error=str(exc))
        return _retry(request, "the request collided with a concurrent one; retry it")
    return handle_unexpected_error(request, exc)


def handle_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database is down, restarting or unreachable: 503, and one log line, no traceback
    (an outage fails every request, and a traceback each would bury the logs)."""
    reason = unavailability(exc) or "unknown"
    logger.warning("database unavailable; client asked to retry", reason=reason)
    if reason.startswith("connection lost"):
        # The pool has dropped that connection already: the next attempt usually gets a live one.
        return _retry(request, "the database connection was lost; retry the request")
    return problem_response(
        request,
        503,
        detail="the database is unavailable; retry the request shortly",
        problem="database-unavailable",
        headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
    )


def _retry(request: Request[Any, Any, Any], detail: str) -> Response[Any]:
    return problem_response(
        request, 503, detail=detail, problem="retry", headers={"Retry-After": "1"}
    )


def handle_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Also the way out for what the database failure surfaces as outside SQLAlchemy's own
    # errors: a pool timeout, a driver error, an exception group from dependency cleanups.
    if unavailability(exc) is not None:
        return handle_database_unavailable(request, exc)
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(request, 500, detail="internal error; the request id is in the logs")


def is_unique_violation(exc: IntegrityError) -> bool:
    """True when a UNIQUE constraint refused the write, on PostgreSQL or SQLite."""
    return _sqlstate(exc) == "23505" or _sqlite_error(exc) in {
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    }


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    """True when a FOREIGN KEY refused the write, on PostgreSQL or SQLite."""
    if _sqlstate(exc) == "23503" or _sqlite_error(exc) == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return True
    # SQLite reports the refusal of an `ON DELETE RESTRICT` action as a trigger's.
    return _sqlite_error(exc) == "SQLITE_CONSTRAINT_TRIGGER" and "FOREIGN KEY" in str(exc.orig)


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


def _sqlite_error(exc: IntegrityError) -> str | None:
    return getattr(exc.orig, "sqlite_errorname", None)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    InboundError: handle_inbound_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    IntegrityError: handle_integrity_error,
    DBAPIError: handle_database_error,
    RecursionError: handle_too_deep,
    Exception: handle_unexpected_error,
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a handler can give."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            media_type=PROBLEM_JSON,
            description=HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in statuses
    }
