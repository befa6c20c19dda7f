"""Where webhooks may go: http(s) URLs of public addresses, on the web's ports or unprivileged
ones. The rules here judge a URL as written (when a subscription is registered, and before each
delivery) and each address its host name resolves to (when a delivery connects)."""

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

WEB_PORTS = frozenset({80, 443})
# Ports below this one belong to other protocols (SSH, SMTP, ...), save the web's own two.
FIRST_UNPRIVILEGED_PORT = 1024
MAX_PORT = 65535
# Names that never lead to a public address: mDNS (RFC 6762), ICANN's private-use `.internal`,
# home networks (RFC 8375), and the suffix many private networks use.
PRIVATE_SUFFIXES = ("local", "internal", "home.arpa", "localdomain")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052) and the
# deprecated IPv4-compatible form. (IPv4-mapped and 6to4 addresses have properties of their own.)
IPV4_CARRIERS = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
LOOPBACK_HINT = " (INBOUND_WEBHOOK_ALLOW_LOOPBACK=true allows it for local development)"


class TargetRefused(Exception):
    """A webhook target that is not a public http(s) address; the message says why."""


def url_refusal(url: str, *, allow_loopback: bool) -> str | None:
    """Why a webhook may not go to ``url`` as written; None when it may (its host name, if it
    has one, is judged again by what it resolves to when a delivery connects)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # only a bracketed host that is no IPv6 address gets this far
        return "the host in brackets is not an IPv6 address"
    if parts.netloc.startswith("[") and ":" not in (parts.hostname or ""):
        return "the host in brackets is not an IPv6 address"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https URLs are allowed"
    if "@" in parts.netloc:
        return "a URL may not carry a user name or password"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is not None and not 0 < port <= MAX_PORT:
        return f"the port must be between 1 and {MAX_PORT}"
    if port is not None and port < FIRST_UNPRIVILEGED_PORT and port not in WEB_PORTS:
        return (
            f"port {port} is refused: below {FIRST_UNPRIVILEGED_PORT}, only 80 and 443 are allowed"
        )
    if not parts.hostname:
        return "the URL has no host"
    return host_refusal(parts.hostname, allow_loopback=allow_loopback)


def host_refusal(host: str, *, allow_loopback: bool) -> str | None:
    """Why a host, as written in a URL, is no webhook target; None when it may be one."""
    name = host.lower().rstrip(".")
    address = literal_address(name)
    if address is not None:
        return address_refusal(address, allow_loopback=allow_loopback, written=host)
    if name == "localhost" or name.endswith(".localhost"):
        # RFC 6761: these names are the loopback interface, whatever a resolver says.
        return None if allow_loopback else f"{host} is this machine's loopback" + LOOPBACK_HINT
    if "." not in name:
        return f"{host} has no dot: such names are looked up inside the local network"
    for suffix in PRIVATE_SUFFIXES:
        if name.endswith("." + suffix):
            return f"names under .{suffix} belong to private networks"
    return None


def literal_address(name: str) -> IPAddress | None:
    """The address a host names literally, in any form a resolver reads as one: besides the
    usual ones, the IPv4 shorthands `127.1`, `2130706433`, `0x7f000001` and `0177.0.0.1`."""
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def address_refusal(
    address: IPAddress, *, allow_loopback: bool, written: str | None = None
) -> str | None:
    """Why a webhook may not connect to ``address`` (``written`` so in the URL, if it was);
    None when it is public."""
    meant = _meant(address)
    kind = _not_public(meant)
    if kind is None or (kind == LOOPBACK and allow_loopback):
        return None
    written = written or str(address)
    shown = written if written == str(meant) else f"{written} ({meant})"
    return f"{shown} is {kind}" + (LOOPBACK_HINT if kind == LOOPBACK else "")


LOOPBACK = "a loopback address"


def _not_public(address: IPAddress) -> str | None:
    """What kind of non-public address this is; None for a public one."""
    if address.is_loopback:
        return LOOPBACK
    if address.is_unspecified:
        return "the unspecified address, which reaches this machine"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "a private address"
    if not address.is_global or address.is_reserved:
        return "not a public address"
    return None


def _meant(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for, when it stands for one; else itself."""
    if not isinstance(address, ipaddress.IPv6Address) or int(address) <= 1:  # `::` and `::1`
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in carrier for carrier in IPV4_CARRIERS):
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address
