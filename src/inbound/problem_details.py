"""Problem details (RFC 9457 ``application/problem+json``): the body every error response
has, how one is rendered, how handlers list them for OpenAPI, and the handlers of the errors
that come from below the services (HTTP, the database)."""

from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError

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
