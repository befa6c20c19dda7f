"""The content team's buyer personas."""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.errors import FieldError, NotFound, Unprocessable
from inbound.pagination import PageRequest
from inbound.personas.models import Persona
from inbound.personas.repository import PersonaRepository
from inbound.repository import id_filter
from inbound.schemas import slug_from


class PersonaNotFound(NotFound, problem="persona-not-found"): ...


# The id of the persona a query filter names (by id or slug); naming none is a 400.
filtered_persona_id = id_filter(PersonaRepository)


@dataclass(frozen=True, slots=True)
class MatchablePersona:
    """What persona mapping needs to know of a persona."""

    id: uuid.UUID
    slug: str
    priority: int
    rules: Sequence[Mapping[str, Any]]


class PersonaService:
    """Create, change, archive and delete personas; resolve them by id or slug."""

    def __init__(self, session: AsyncSession) -> None:
        self.personas = PersonaRepository(session)

    async def create(self, fields: dict[str, Any]) -> Persona:
        """Create a persona; its slug comes from the name when none is given."""
        _check_rules(fields.get("rules", []))
        slug = fields.pop("slug", None) or slug_from(fields["name"])
        return await self.personas.save(Persona(slug=slug, **fields))

    async def get(self, ref: str, *, lock: bool = False) -> Persona:
        """The persona named by id or slug; `lock` before changing it, so writers queue."""
        return await self.personas.get_by_ref_or_raise(ref, PersonaNotFound, lock=lock)

    async def resolve(self, refs: Iterable[str], *, share: bool = False) -> dict[str, Persona]:
        """Map each id or slug to its persona; unknown ones are left out.

        `share` keeps them from being deleted until the commit: take it before writing rows
        that point to them, so a concurrent delete waits instead of deadlocking.
        """
        return await self.personas.resolve(refs, share=share)

    async def matchable(self) -> list[MatchablePersona]:
        """Every persona that is not archived, with its rules, in a fixed order."""
        return [MatchablePersona(*row) for row in await self.personas.matchable()]

    async def list_page(
        self, page: PageRequest, *, archived: bool = False
    ) -> tuple[Sequence[Persona], str | None]:
        """A page of personas."""
        return await self.personas.list_page(page, archived=archived)

    async def update(self, persona: Persona, changes: dict[str, Any]) -> Persona:
        """Apply a partial update; `archived` archives or restores. An empty one changes nothing."""
        if not changes:
            return persona
        _check_rules(changes.get("rules", []))
        archived = changes.pop("archived", None)
        if archived is not None:
            _set_archived(persona, archived)
        persona.apply(changes)
        return await self.personas.save(persona)

    async def delete(self, persona: Persona) -> None:
        """Delete a persona for good; its asset tags go with it."""
        await self.personas.delete(persona)


def _check_rules(rules: list[dict[str, Any]]) -> None:
    """What the rules' schema cannot say: a range's lower bound is not above its upper bound."""
    errors = [
        FieldError(field=f"rules[{i}].min", message="`min` is greater than `max`")
        for i, rule in enumerate(rules)
        if rule["operator"] == "between"
        and rule.get("min") is not None
        and rule.get("max") is not None
        and rule["min"] > rule["max"]
    ]
    if errors:
        raise Unprocessable("a rule's range is empty", errors=errors)


def _set_archived(persona: Persona, archived: bool) -> None:
    if archived and not persona.archived:
        persona.archived_at = utcnow()
    elif not archived:
        persona.archived_at = None
    persona.archived = archived
