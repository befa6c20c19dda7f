import uuid
from collections.abc import Sequence

from sqlmodel import col

from inbound.auth.models import ApiKey
from inbound.pagination import PageRequest
from inbound.repository import Repository


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    noun = "API key"

    async def list_page(
        self, page: PageRequest, *, include_revoked: bool
    ) -> tuple[Sequence[ApiKey], str | None]:
        """Keys in creation order, live ones only unless asked."""
        statement = self.select()
        if not include_revoked:
            statement = statement.where(col(ApiKey.revoked_at).is_(None))
        return await self.page(statement, page)

    async def for_sites(self, site_ids: Sequence[uuid.UUID]) -> Sequence[ApiKey]:
        """Every key of these sites, oldest first."""
        statement = self.select().where(col(ApiKey.site_id).in_(site_ids)).order_by(col(ApiKey.id))
        return (await self.session.execute(statement)).scalars().all()
