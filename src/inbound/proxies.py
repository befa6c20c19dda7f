"""The client's address and scheme as the reverse proxies in front of the service saw them."""

from collections.abc import Callable, Sequence
from typing import Any, cast

from litestar.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def trusted_proxies(networks: Sequence[str]) -> Callable[[ASGIApp], ASGIApp]:
    """Believe `X-Forwarded-For` and `X-Forwarded-Proto` only from a peer in ``networks``.

    The client is the right-most address in `X-Forwarded-For` that is not itself a trusted
    proxy: what a trusted proxy appended, never what the client wrote in front of it. Every
    reader of the client address (rate limits, the stored network of a capture, the access
    log) and of the scheme then sees the client's.
    """

    def wrap(app: ASGIApp) -> ASGIApp:
        if not networks:  # nothing forwarded is believed: the peer is the client
            return app
        # uvicorn's middleware: CIDR networks, the right-most untrusted rule, either scheme.
        proxied = ProxyHeadersMiddleware(cast(Any, app), list(networks))
        return cast(ASGIApp, proxied)

    return wrap
