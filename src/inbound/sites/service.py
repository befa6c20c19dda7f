"""Marketing sites and their public ingest keys."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.keys import KeyKind, hash_key
from inbound.auth.models import ApiKey
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.errors import NotFound
from inbound.pagination import PageRequest
from inbound.sites.models import Site
from inbound.sites.repository import SiteRepository


class SiteNotFound(NotFound, problem="site-not-found"): ...


@dataclass(frozen=True, slots=True)
class SiteKey:
    """A live key as a public form uses it: the key, its scopes and its site's origins."""

    key_id: uuid.UUID
    scopes: frozenset[Scope]
    site_id: uuid.UUID
    allowed_origins: frozenset[str]
    # How the site's events may keep their visitor's ids (`inbound.tracking.consent`).
    tracking_consent: str = "required"


class SiteService:
    """A site owns public keys that may only post captures and events."""

    def __init__(self, session: AsyncSession) -> None:
        self.sites = SiteRepository(session)
        self.keys = ApiKeyService(session)

    async def create(
        self, *, name: str, allowed_origins: list[str], tracking_consent: str = "required"
    ) -> tuple[Site, str]:
        """Create a site with its first public key; return the key's plain text once."""
        site = await self.sites.add(
            Site(name=name, allowed_origins=allowed_origins, tracking_consent=tracking_consent)
        )
        _, plain = await self.issue_key(site)
        return site, plain

    async def rotate_key(self, site: Site) -> tuple[ApiKey, str]:
        """Another public key for a site, to rotate the old one out; the site's version moves."""
        issued = await self.issue_key(site)
        site.touch()
        await self.sites.add(site)
        return issued

    async def issue_key(self, site: Site) -> tuple[ApiKey, str]:
        """A public key for a site."""
        return await self.keys.issue(
            name="site public key",
            scopes=[Scope.INGEST],
            kind=KeyKind.PUBLIC,
            site_id=site.id,
        )

    async def key_for(self, plain_key: str) -> SiteKey | None:
        """The live site key matching ``plain_key``; None for unknown, revoked or non-site keys."""
        row = await self.sites.by_key_hash(hash_key(plain_key))
        if row is None or row.revoked_at is not None:
            return None
        key_id, scopes, _, site_id, origins, consent = row
        return SiteKey(
            key_id, frozenset(Scope(s) for s in scopes), site_id, frozenset(origins), consent
        )

    async def all_origins(self) -> set[str]:
        """Every origin some site allows: the ones a browser preflight may come from."""
        return await self.sites.all_origins()

    async def get(self, site_id: uuid.UUID, *, lock: bool = False) -> Site:
        """One site; `lock` before changing it, so writers queue."""
        return await self.sites.get_or_raise(site_id, SiteNotFound, lock=lock)

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Site], str | None]:
        """A page of sites."""
        return await self.sites.list_page(page)

    async def keys_of(self, sites: Sequence[Site]) -> dict[uuid.UUID, list[ApiKey]]:
        """The public keys of each site, revoked ones included."""
        return await self.keys.for_sites([site.id for site in sites])

    async def update(self, site: Site, changes: dict[str, Any]) -> Site:
        """Change a site's name, origins or tracking consent mode."""
        if not changes:
            return site
        site.apply(changes)
        return await self.sites.add(site)

    async def delete(self, site: Site) -> None:
        """Delete a site; its keys go with it."""
        await self.sites.delete(site)
