from collections.abc import Sequence

from inbound.pagination import PageRequest
from inbound.repository import Repository
from inbound.sites.models import Site


class SiteRepository(Repository[Site]):
    model = Site

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Site], str | None]:
        """Sites in creation order."""
        return await self.page(self.select(), page)
