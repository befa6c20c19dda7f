"""What a capture knows of the client that posted it: its network, for rate limits and for the
record, and its headers, which are bytes that need not be text."""

import functools
import ipaddress
import unicodedata

from inbound.leads.schemas import INVISIBLE_CATEGORIES


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address, an IPv4 address mapped into IPv6 read as the IPv4 address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=4096)  # the same clients post again and again
def rate_bucket(host: str) -> str:
    """Whom a client's posts are counted against: its IPv4 address, or its IPv6 /64.

    One IPv6 host is given a whole /64 and can post from any address in it.
    """
    address = _address(host)
    if address is None:
        return host
    if address.version == 4:
        return str(address)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


@functools.lru_cache(maxsize=4096)
def ip_prefix(host: str) -> str | None:
    """The client's network, not its address: /24 for IPv4, /48 for IPv6."""
    address = _address(host)
    if address is None:
        return None
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def readable_header(value: str | None, limit: int) -> str | None:
    """A header's text as sent (UTF-8 where it is; what is not, replaced), invisible characters
    left out, at most ``limit`` characters; None when nothing readable remains.

    Headers arrive as bytes, read as Latin-1: they are read again as UTF-8 here, which is
    what browsers and bots send.
    """
    if not value:
        return None
    text = value.encode("latin-1").decode("utf-8", errors="replace")
    kept = "".join(c for c in text if unicodedata.category(c) not in INVISIBLE_CATEGORIES)
    return kept.strip()[:limit] or None
