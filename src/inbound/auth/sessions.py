"""Dashboard sign-ins kept on the server: the browser holds a random token, never an API key.

Only a key whose sole scope is `reports:read` may sign in: a browser is no place for a key that
can write or administer. A session ends when it expires, when it is signed out, or when its key
is revoked.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.auth.keys import hash_key
from inbound.auth.models import ApiKey, DashboardSession
from inbound.auth.principal import Principal
from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.errors import Forbidden

SESSION_LIFETIME = timedelta(hours=12)
BROWSER_SCOPES = frozenset({Scope.REPORTS_READ})


class KeyNotForBrowsers(Forbidden, problem="key-not-for-browsers"): ...


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session just opened: the token for the browser's cookie, and when it stops working."""

    token: str
    expires_at: datetime


def browser_refusal(scopes: frozenset[Scope]) -> str | None:
    """Why a key with these scopes may not sign in to the dashboard, or None when it may."""
    if not scopes & {Scope.REPORTS_READ, Scope.ADMIN}:
        return "this key lacks the `reports:read` scope"
    extra = sorted(scopes - BROWSER_SCOPES)
    if extra:
        return (
            f"this key holds {', '.join(f'`{s}`' for s in extra)}: a key that can do more than "
            "read reports must not be used in a browser. Sign in with a key whose only scope "
            "is `reports:read`."
        )
    return None


class DashboardSessionService:
    """Open, resolve and end dashboard sessions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, principal: Principal) -> SignedIn:
        """A new session for a reports-only key; any other key is refused with 403."""
        refusal = browser_refusal(principal.scopes)
        if refusal:
            raise KeyNotForBrowsers(refusal)
        now = utcnow()
        # Sessions nobody signed out of would otherwise stay forever.
        await self.session.execute(
            delete(DashboardSession).where(col(DashboardSession.expires_at) <= now)
        )
        token = secrets.token_urlsafe(32)
        row = DashboardSession(
            token_hash=hash_key(token), key_id=principal.key_id, expires_at=now + SESSION_LIFETIME
        )
        self.session.add(row)
        await self.session.flush()
        return SignedIn(token, row.expires_at)

    async def reader(self, token: str) -> Principal | None:
        """The key behind a live session: unexpired, not signed out, its key not revoked."""
        statement = (
            select(ApiKey)
            .join(DashboardSession, col(DashboardSession.key_id) == col(ApiKey.id))
            .where(
                col(DashboardSession.token_hash) == hash_key(token),
                col(DashboardSession.expires_at) > utcnow(),
                col(ApiKey.revoked_at).is_(None),
            )
        )
        api_key = (await self.session.execute(statement)).scalar_one_or_none()
        if api_key is None:
            return None
        scopes = frozenset(Scope(s) for s in api_key.scopes)
        if browser_refusal(scopes):
            return None
        return Principal(key_id=api_key.id, name=api_key.name, scopes=scopes)

    async def end(self, token: str) -> None:
        """Sign a session out: its token never works again."""
        await self.session.execute(
            delete(DashboardSession).where(col(DashboardSession.token_hash) == hash_key(token))
        )

    async def end_all_of(self, key_id: uuid.UUID) -> None:
        """End every session of a key (it is being revoked)."""
        await self.session.execute(
            delete(DashboardSession).where(col(DashboardSession.key_id) == key_id)
        )
