import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import or_
from sqlmodel import col

from inbound.pagination import PageRequest
from inbound.personas.models import Persona
from inbound.repository import Repository


class PersonaRepository(Repository[Persona]):
    model = Persona

    async def get_by_slug(self, slug: str) -> Persona | None:
        """The persona with this slug, if any."""
        statement = self.select().where(col(Persona.slug) == slug)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def find_many(
        self, ids: Collection[uuid.UUID], slugs: Collection[str]
    ) -> Sequence[Persona]:
        """Personas named by any of these ids or slugs, in one query."""
        statement = self.select().where(or_(col(Persona.id).in_(ids), col(Persona.slug).in_(slugs)))
        return (await self.session.execute(statement)).scalars().all()

    async def list_page(
        self, page: PageRequest, *, archived: bool
    ) -> tuple[Sequence[Persona], str | None]:
        """Personas in creation order, archived or not."""
        return await self.page(self.select().where(col(Persona.archived) == archived), page)
