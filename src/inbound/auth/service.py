"""Issuing, listing and revoking API keys."""

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.keys import KeyKind, generate_key, hash_key, key_prefix
from inbound.auth.models import ApiKey
from inbound.auth.repository import ApiKeyRepository
from inbound.auth.scopes import Scope
from inbound.auth.sessions import DashboardSessionService
from inbound.db import utcnow
from inbound.errors import NotFound
from inbound.pagination import PageRequest


class ApiKeyNotFound(NotFound, problem="api-key-not-found"): ...


class ApiKeyService:
    """Keys are shown once at creation and stored only as hashes."""

    def __init__(self, session: AsyncSession) -> None:
        self.keys = ApiKeyRepository(session)

    async def issue(
        self,
        *,
        name: str,
        scopes: Iterable[Scope],
        kind: KeyKind = KeyKind.SECRET,
        site_id: uuid.UUID | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key and return it with its one-time plain text."""
        plain = generate_key(kind)
        api_key = ApiKey(
            name=name,
            prefix=key_prefix(plain),
            key_hash=hash_key(plain),
            scopes=sorted(str(s) for s in set(scopes)),
            site_id=site_id,
        )
        await self.keys.add(api_key)
        return api_key, plain

    async def get(self, key_id: uuid.UUID) -> ApiKey:
        """One key, revoked or not."""
        return await self.keys.get_or_raise(key_id, ApiKeyNotFound)

    async def list_page(
        self, page: PageRequest, *, include_revoked: bool = False
    ) -> tuple[Sequence[ApiKey], str | None]:
        """A page of keys."""
        return await self.keys.list_page(page, include_revoked=include_revoked)

    async def for_sites(self, site_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ApiKey]]:
        """The public keys of each site, revoked ones included."""
        by_site: dict[uuid.UUID, list[ApiKey]] = {site_id: [] for site_id in site_ids}
        for api_key in await self.keys.for_sites(site_ids):
            if api_key.site_id is not None:
                by_site[api_key.site_id].append(api_key)
        return by_site

    async def revoke(self, key_id: uuid.UUID) -> None:
        """Stop a key from working, in the dashboard too; revoking twice is harmless."""
        api_key = await self.get(key_id)
        if api_key.revoked_at is None:
            api_key.revoked_at = utcnow()
            await self.keys.session.flush()
        await DashboardSessionService(self.keys.session).end_all_of(key_id)
