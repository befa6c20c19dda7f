"""The addresses settings hold, checked and put in the one form the service uses: the
database, Redis, the web addresses, the networks of trusted proxies."""

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

ACCEPTED_DATABASE_URLS = (
    "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
)
# The drivers we run on, by what URLs commonly name (psql's and Heroku's postgres://, plain sqlite).
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalized_database_url(value: str) -> str:
    """The URL with the driver we use named: `postgres://` and `postgresql://` run on asyncpg,
    `sqlite://` on aiosqlite; anything else is refused."""
    try:
        url = make_url(value.strip())
    except ArgumentError:
        raise ValueError(f"not a database URL; use {ACCEPTED_DATABASE_URLS}") from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(f"{url.drivername}:// is not supported; use {ACCEPTED_DATABASE_URLS}")
    return url.set(drivername=driver).render_as_string(hide_password=False)


def trusted_networks(value: Any) -> list[str]:
    """Comma-separated IP addresses or CIDR networks, as networks."""
    items = value.split(",") if isinstance(value, str) else value
    networks = []
    for item in (str(item).strip() for item in items):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or a CIDR network (e.g. 10.0.0.0/8)"
            ) from None
    return networks


def redis_address(value: str | None) -> str | None:
    """A Redis URL, when the Redis client is installed; empty is none."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError("not a Redis URL; use redis://HOST:PORT/DB (or rediss:// for TLS)")
    try:
        import redis  # noqa: F401
    except ImportError:
        raise ValueError(
            "needs the Redis client, an optional extra: pip install 'inbound[redis]'"
        ) from None
    return value.strip()


def web_address(value: str | None) -> str | None:
    """An http(s) address with a host."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a web address; use https://HOST (or http://HOST:PORT)")
    return value.strip()


def public_address(value: str | None) -> str | None:
    """The service's public http(s) address, without a trailing slash; empty is none."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a web address; use https://HOST (or https://HOST/PATH)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("an address without query, fragment, user name or password")
    return value.strip().rstrip("/")
