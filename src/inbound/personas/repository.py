from collections.abc import Sequence

from sqlmodel import col

from inbound.pagination import PageRequest
from inbound.personas.models import Persona
from inbound.repository import SluggedRepository


class PersonaRepository(SluggedRepository[Persona]):
    model = Persona

    async def list_page(
        self, page: PageRequest, *, archived: bool
    ) -> tuple[Sequence[Persona], str | None]:
        """Personas in creation order, archived or not."""
        return await self.page(self.select().where(col(Persona.archived) == archived), page)
