"""No shared or browser cache keeps what the API answers: leads, captures, keys, reports."""

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL = b"cache-control"
NO_STORE = b"no-store"
# Where answers carry personal data or secrets. A response that is public and cacheable (a
# form's definition, say) says so with a Cache-Control of its own, which is kept.
PRIVATE_PATHS = ("/api/", "/dashboard")


def no_store_middleware(app: ASGIApp) -> ASGIApp:
    """Mark every API and dashboard answer `Cache-Control: no-store`, unless it set its own."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith(PRIVATE_PATHS):
            await app(scope, receive, send)
            return

        async def send_not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == CACHE_CONTROL for name, _ in headers):
                    headers.append((CACHE_CONTROL, NO_STORE))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_not_stored)

    return middleware
