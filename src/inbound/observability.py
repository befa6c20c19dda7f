"""Structured JSON logs, each line of a request carrying its request id."""

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from inbound.config import Settings

REQUEST_ID_HEADER = b"x-request-id"
# A caller's request id is reused only when it is short and plain, so logs stay clean.
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
access_log = structlog.get_logger("inbound.access")
# A signed survey link's address holds its token, which answers as the contact: whoever reads
# the logs must not be able to. Every `/s/<token>` in a line loses its token.
_LINK_TOKEN = re.compile(r"/s/[^/?#\s\"'\\]+")
REDACTED_LINK = "/s/[token]"


def redact_link_tokens(
    _logger: Any, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Replace the token of every survey link address in the line's text values."""
    for name, value in event.items():
        if isinstance(value, str) and "/s/" in value:
            event[name] = _LINK_TOKEN.sub(REDACTED_LINK, value)
    return event


def configure_logging(settings: Settings) -> None:
    """Send structlog and standard logging (uvicorn, SQLAlchemy) to stdout as one stream."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                # Last before rendering: tracebacks and other libraries' lines included.
                redact_link_tokens,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
    # Our access line replaces uvicorn's, which has no request id.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Give each request an id (the caller's `X-Request-ID` or a new one) and log it once."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        http_scope: HTTPScope = scope
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex.encode()
        structlog.contextvars.bind_contextvars(request_id=request_id.decode())
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            client = http_scope.get("client")
            access_log.info(
                "request",
                method=http_scope["method"],
                path=scope["path"],
                client=client[0] if client else None,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()

    return middleware
