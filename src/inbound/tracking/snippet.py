"""`GET /inbound.js`: the tracking script a site's pages embed, served by the service itself.

It is public (the site's key sits in the script tag, not in this request) and lives outside
`/api/`, so the API's no-store rule does not apply: browsers and shared caches keep it five
minutes, then revalidate it with its strong `ETag`. It is sent gzipped to clients that accept it.
"""

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from litestar import Controller, HttpMethod, Request, Response, route

CACHE_CONTROL = "public, max-age=300"
MEDIA_TYPE = "text/javascript"  # Litestar adds "; charset=utf-8" to text types


@dataclass(frozen=True)
class Snippet:
    """The script as stored, gzipped once, and the entity tag of each representation."""

    plain: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str


@cache
def load_snippet() -> Snippet:
    """Read the script shipped in the package, once per process."""
    plain = (files("inbound.tracking") / "static" / "inbound.js").read_bytes()
    digest = hashlib.sha256(plain).hexdigest()[:32]
    # mtime=0: the same script gzips to the same bytes in every process behind a balancer.
    gzipped = gzip.compress(plain, compresslevel=9, mtime=0)
    # Two encodings are two representations, so each has its own strong tag.
    return Snippet(plain, gzipped, f'"{digest}"', f'"{digest}-gzip"')


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` takes gzip (named or through `*`) with a non-zero weight."""
    for part in (accept_encoding or "").lower().split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip() not in {"gzip", "x-gzip", "*"}:
            continue
        weight = parameters.strip().removeprefix("q=")
        try:
            if not parameters.strip() or float(weight) > 0:
                return True
        except ValueError:
            continue
    return False


def matches(if_none_match: str | None, tags: set[str]) -> bool:
    """Whether `If-None-Match` names one of these tags, or `*` (weak comparison, per RFC 9110)."""
    named = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    return bool(named & (tags | {"*"}))


class SnippetController(Controller):
    tags = ["tracking"]

    # Cache-busting query strings (`inbound.js?v=2`) are common in script tags: they are
    # ignored here, not refused as the API refuses unknown parameters.
    # HEAD too, for link checkers and caches that ask before they fetch.
    @route(
        "/inbound.js",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        operation_id="getSnippet",
        include_in_schema=False,
    )
    async def get_snippet(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        snippet = load_snippet()
        zipped = accepts_gzip(request.headers.get("accept-encoding"))
        tag = snippet.gzip_etag if zipped else snippet.etag
        headers = {
            "ETag": tag,
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            # Pages of other origins embed it, including pages that require CORP.
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        # Only the representation chosen now: a 304 tells a cache which stored copy is fresh,
        # and one holding the other encoding must not be told it holds this one.
        if matches(request.headers.get("if-none-match"), {tag}):
            return Response(b"", status_code=304, headers=headers, media_type=MEDIA_TYPE)
        if zipped:
            headers["Content-Encoding"] = "gzip"
        body = snippet.gzipped if zipped else snippet.plain
        return Response(body, headers=headers, media_type=MEDIA_TYPE)
