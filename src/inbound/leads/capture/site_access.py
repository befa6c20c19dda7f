"""What lets a site's page post to us directly: the site's public key, the page's origin, and
CORS so that the page can read the answer. Shared by every public endpoint a page posts to
(captures, forms, events, next-best-content, survey answers)."""

from typing import Any

import msgspec
from litestar import Request
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from inbound.auth.principal import bearer_token
from inbound.auth.scopes import Scope as KeyScope
from inbound.auth.scopes import effective_scopes
from inbound.errors import PROBLEM_JSON, Forbidden, Unauthorized
from inbound.leads.capture.reference import CaptureReference
from inbound.sites.service import SiteKey

# What a page may read of our answer besides its body.
EXPOSED_HEADERS = "Location, Retry-After, Idempotent-Replayed"
FOREIGN_ORIGIN_PROBLEM = msgspec.json.encode(
    {
        "type": "urn:inbound:problem:origin-not-allowed",
        "title": "Forbidden",
        "status": 403,
        "detail": "this origin belongs to no site",
    }
)


class ForeignOrigin(Forbidden, problem="origin-not-allowed"): ...


async def site_key_of(
    reference: CaptureReference, request: Request[Any, Any, Any], posted: dict[str, Any]
) -> SiteKey:
    plain = bearer_token(request.headers.get("authorization"))
    if plain is None:
        field = posted.get("_key")
        plain = field.strip() if isinstance(field, str) and 0 < len(field) <= 200 else None
    return await site_key_for(
        reference, plain, "send the site's public key as `Authorization: Bearer KEY` or `_key`"
    )


async def site_key_for(reference: CaptureReference, plain: str | None, missing: str) -> SiteKey:
    """The live site key ``plain`` is, with the `ingest` scope; ``missing`` says where to send
    one when there is none."""
    if plain is None:
        raise Unauthorized(missing)
    site_key = await reference.site_key(plain)
    if site_key is None:
        raise Unauthorized("unknown or revoked key, or not a site's key")
    if KeyScope.INGEST not in effective_scopes(site_key.scopes):
        raise Forbidden("this key lacks the `ingest` scope")
    return site_key


def check_site_origin(request: Request[Any, Any, Any], site_key: SiteKey) -> None:
    """A browser names the page's origin; it must be one of the site's."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if not origin.isascii():  # an origin is ASCII: these bytes name no site's
        raise ForeignOrigin("the Origin header is not an origin", field="Origin")
    if origin.lower() not in site_key.allowed_origins:
        raise ForeignOrigin(f"origin {origin!r} is not one of this site's origins", field="Origin")


async def known_origin(state: Any, origin: str) -> bool:
    """True when some site allows ``origin``."""
    reference: CaptureReference = state.capture_reference
    return origin.lower() in await reference.origins()


def capture_cors(app: ASGIApp) -> ASGIApp:
    """Let the page that posted read our answer, when its origin belongs to some site.

    Whether the origin belongs to *this* key's site is the handler's check (403 when not);
    answering that refusal readably is what lets a form show a clear error.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        origin = _ascii_origin(scope)
        known = origin is not None and await known_origin(scope["app"].state, origin)
        if scope.get("method") == "OPTIONS":
            # Answered here: Litestar's own OPTIONS handler would take the route's place.
            await _preflight(send, origin if known else None)
            return
        if not known or origin is None:
            await app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", origin.encode()),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_cors)

    return middleware


def _ascii_origin(scope: Scope) -> str | None:
    """The `Origin` header; None when absent or not ASCII, which no site's origin is."""
    raw = next((value for name, value in scope["headers"] if name == b"origin"), None)
    return raw.decode() if raw is not None and raw.isascii() else None


async def _preflight(send: Send, origin: str | None) -> None:
    """Let a browser post from any origin some site allows; the key decides the rest."""
    if origin is None:
        status, body = 403, FOREIGN_ORIGIN_PROBLEM
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"vary", b"Origin")]
    else:
        status, body = 204, b""
        headers = [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", b"Authorization, Content-Type, Idempotency-Key"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
