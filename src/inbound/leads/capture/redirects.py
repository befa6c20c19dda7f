"""`_redirect`: the page a plain HTML form lands on after a capture, on one of the site's origins.

Checked before anything is written, honeypot posts included, so that the capture endpoint can
never be made to send a visitor elsewhere.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from inbound.errors import Unprocessable

MAX_REDIRECT_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
# Browsers read a backslash as a slash and drop tabs and newlines anywhere in a URL; Python's
# parser does neither. Refuse them, and every other control or space, rather than guess which
# host a browser would see.
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_ABSOLUTE = re.compile(r"(?P<scheme>[A-Za-z]+)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)
_HOST_AND_PORT = re.compile(r"(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{0,5}))?")
# What may stay as it is in a path, and in a query or fragment (RFC 3986); `%` keeps the
# escapes a URL already has. Everything else, non-ASCII included, is percent-encoded in UTF-8.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class ForeignRedirect(Unprocessable, problem="redirect-not-allowed"): ...


@dataclass(frozen=True, slots=True)
class Redirect:
    """A checked `_redirect`: the origin it leads to, then its path, query and fragment,
    percent-encoded so that it travels in a `Location` header as plain ASCII."""

    origin: str
    path: str
    query: str
    fragment: str

    def with_query(self, extra: dict[str, str]) -> str:
        """The URL with ``extra`` added to its query."""
        query = "&".join(q for q in (self.query, urlencode(extra)) if q)
        return (
            self.origin + self.path + (f"?{query}" if query else "")
            + (f"#{self.fragment}" if self.fragment else "")
        )  # fmt: skip


def checked_redirect(value: Any, allowed_origins: Collection[str]) -> Redirect | None:
    """The posted `_redirect`, refused unless a browser would land on one of the site's origins.

    A value that is not text is left to the form's schema, which refuses it.
    """
    if not isinstance(value, str):
        return None
    if len(value) > MAX_REDIRECT_LENGTH:
        raise _refused(f"`_redirect` is at most {MAX_REDIRECT_LENGTH} characters")
    if _UNSAFE.search(value):
        raise _refused("`_redirect` must not hold spaces, control characters or backslashes")
    url = _ABSOLUTE.fullmatch(value)
    scheme = url["scheme"].lower() if url else ""
    if url is None or scheme not in DEFAULT_PORTS:
        raise _refused("`_redirect` must be an absolute http(s) URL")
    if "@" in url["authority"]:
        raise _refused("`_redirect` must not carry a user name or password")
    origin = _origin(scheme, url["authority"])
    if origin not in allowed_origins:
        raise _refused("`_redirect` must lead to one of the site's origins")
    path, _, fragment = url["rest"].partition("#")
    path, _, query = path.partition("?")
    return Redirect(
        origin=origin,
        path=quote(path, safe=_PATH_SAFE) or "/",
        query=quote(query, safe=_QUERY_SAFE),
        fragment=quote(fragment, safe=_QUERY_SAFE),
    )


def _origin(scheme: str, authority: str) -> str:
    """The origin as browsers name it: host lower-cased, the scheme's default port left out."""
    parts = _HOST_AND_PORT.fullmatch(authority)
    if parts is None:
        raise _refused("`_redirect` must name its host in ASCII letters, digits, dots and dashes")
    port = int(parts["port"]) if parts["port"] else DEFAULT_PORTS[scheme]
    if port > 65535:
        raise _refused("`_redirect` has a port above 65535")
    shown = "" if port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{parts['host'].lower()}{shown}"


def _refused(detail: str) -> ForeignRedirect:
    return ForeignRedirect(detail, field="_redirect")
