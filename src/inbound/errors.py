"""Domain errors that know their HTTP status, and the one place that renders problem details.

Every error response is an RFC 9457 ``application/problem+json`` body. Validation problems
carry an ``errors`` list naming each offending field. The bodies and the handlers of errors
from below the services are in `problem_details`, validation's in `validation_problems`.
"""

from typing import Any, ClassVar

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError

from inbound.problem_details import (
    PROBLEM_JSON,
    RETRY_AFTER_UNAVAILABLE,
    FieldError,
    ProblemDetails,
    handle_database_error,
    handle_http_exception,
    handle_integrity_error,
    handle_too_deep,
    handle_unexpected_error,
    is_foreign_key_violation,
    is_unique_violation,
    problem_response,
    problems,
)
from inbound.validation_problems import handle_validation_error, plain_errors

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "RETRY_AFTER_UNAVAILABLE",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "InboundError",
    "NotFound",
    "PreconditionFailed",
    "ProblemDetails",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
    "is_foreign_key_violation",
    "is_unique_violation",
    "problem_response",
    "problems",
]  # fmt: skip


class InboundError(Exception):
    """A failure the client can act on; subclasses fix the status and problem type, as class
    keywords (`class SlugTaken(Conflict, problem="slug-taken")`) or attributes."""

    status_code: int = 400
    problem: str | None = None
    default_headers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(
        cls, *, status: int | None = None, problem: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if problem is not None:
            cls.problem = problem

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
        errors = plain_errors(exc.errors(include_url=False), source)
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(detail, errors=errors)


class BadRequest(InboundError, status=400, problem="bad-request"): ...


class Unauthorized(InboundError, status=401, problem="unauthorized"):
    default_headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="inbound"'}


class Forbidden(InboundError, status=403, problem="forbidden"): ...


class NotFound(InboundError, status=404, problem="not-found"): ...


class Conflict(InboundError, status=409, problem="conflict"): ...


class UnsupportedMediaType(InboundError, status=415, problem="unsupported-media-type"): ...


class TooManyRequests(InboundError, status=429, problem="rate-limited"): ...


class PreconditionFailed(InboundError, status=412, problem="precondition-failed"): ...


class Unprocessable(InboundError, status=422, problem="unprocessable"): ...


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


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    InboundError: handle_inbound_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    IntegrityError: handle_integrity_error,
    DBAPIError: handle_database_error,
    RecursionError: handle_too_deep,
    Exception: handle_unexpected_error,
}
