import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, select
from sqlmodel import col

from inbound.auth.models import ApiKey
from inbound.pagination import PageRequest
from inbound.repository import Repository
from inbound.sites.models import Site


class SiteRepository(Repository[Site]):
    model = Site
    noun = "site"

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Site], str | None]:
        """Sites in creation order."""
        return await self.page(self.select(), page)

    async def by_key_hash(
        self, key_hash: str
    ) -> Row[uuid.UUID, list[str], datetime | None, uuid.UUID, list[str], str] | None:
        """The key with this hash and its site: (key id, scopes, revoked_at, site id, origins,
        tracking consent mode)."""
        statement = (
            select(
                col(ApiKey.id),
                col(ApiKey.scopes),
                col(ApiKey.revoked_at),
                col(Site.id),
                col(Site.allowed_origins),
                col(Site.tracking_consent),
            )
            .join(Site, col(Site.id) == col(ApiKey.site_id))
            .where(col(ApiKey.key_hash) == key_hash)
        )
        return (await self.session.execute(statement)).one_or_none()

    async def all_origins(self) -> set[str]:
        """Every origin any site allows."""
        statement = select(col(Site.allowed_origins))
        return {o for origins in (await self.session.execute(statement)).scalars() for o in origins}
