import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import col

from inbound.pagination import PageRequest
from inbound.personas.models import Persona
from inbound.repository import SluggedRepository


class PersonaRepository(SluggedRepository[Persona]):
    model = Persona
    noun = "persona"

    async def list_page(
        self, page: PageRequest, *, archived: bool
    ) -> tuple[Sequence[Persona], str | None]:
        """Personas in creation order, archived or not."""
        return await self.page(self.select().where(col(Persona.archived) == archived), page)

    async def matchable(self) -> Sequence[Row[uuid.UUID, str, int, list[dict[str, Any]]]]:
        """Id, slug, priority and rules of every persona a contact can be mapped to."""
        statement = (
            select(col(Persona.id), col(Persona.slug), col(Persona.priority), col(Persona.rules))
            .where(col(Persona.archived).is_(False))
            .order_by(col(Persona.id))
        )
        return (await self.session.execute(statement)).all()
