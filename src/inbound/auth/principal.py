"""Who is calling, resolved from the bearer key, and the guards that check what it may do."""

import uuid
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.auth.keys import hash_key
from inbound.auth.models import ApiKey
from inbound.auth.scopes import Scope, effective_scopes
from inbound.errors import Forbidden, Unauthorized


@dataclass(frozen=True, slots=True)
class Principal:
    """The key behind a request."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[Scope]
    site_id: uuid.UUID | None = None

    def allows(self, scope: Scope) -> bool:
        """True when the key holds ``scope`` or a scope that implies it."""
        return scope in effective_scopes(self.scopes)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse with 401 a request without a live key; otherwise attach its Principal.

    A guard rather than a middleware, so that its refusals pass through the same
    exception handlers, logs and request ids as every other answer.
    """
    if connection.scope.get("method") == "OPTIONS":
        return  # preflight requests carry no credentials
    key = bearer_token(connection.headers.get("authorization"))
    if key is None:
        raise Unauthorized("send an API key as `Authorization: Bearer KEY`")
    principal = await principal_for(connection.app.state.sessionmaker, key)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    connection.scope["auth"] = principal


async def principal_for(
    sessionmaker: async_sessionmaker[AsyncSession], key: str
) -> Principal | None:
    """The live key ``key``, or None when it is unknown or revoked."""
    async with sessionmaker() as session:
        api_key = (
            await session.execute(select(ApiKey).where(col(ApiKey.key_hash) == hash_key(key)))
        ).scalar_one_or_none()
    if api_key is None or api_key.revoked_at is not None:
        return None
    return Principal(
        key_id=api_key.id,
        name=api_key.name,
        scopes=frozenset(Scope(s) for s in api_key.scopes),
        site_id=api_key.site_id,
    )


def bearer_token(header: str | None) -> str | None:
    """The key in an `Authorization: Bearer KEY` header, if it holds a plausible one."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


def requires(scope: Scope) -> Guard:
    """A guard refusing, with 403, any key that lacks ``scope``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return
        principal: Principal = connection.auth
        if not principal.allows(scope):
            raise Forbidden(f"this key lacks the `{scope}` scope")

    guard.__name__ = f"requires_{scope.value.replace(':', '_')}"
    return guard
