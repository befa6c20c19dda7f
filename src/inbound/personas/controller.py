"""`/api/v1/personas`: the content team's buyer personas."""

from litestar import Controller, delete, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.content.controller import provide_asset_service
from inbound.content.service import AssetService
from inbound.errors import Conflict, problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.personas.schemas import PersonaCreate, PersonaRead, PersonaUpdate
from inbound.personas.service import PersonaService
from inbound.resource_routes import ResourceRoutes
from inbound.schemas import NO_NUL

READ = [requires(Scope.CONTENT_READ)]
WRITE = [requires(Scope.CONTENT_WRITE)]
PersonaRefParam = Parameter(description="The persona's id or slug.", max_length=64, pattern=NO_NUL)


class PersonaInUse(Conflict):
    problem = "persona-in-use"


def provide_persona_service(db_session: NamedDependency[AsyncSession]) -> PersonaService:
    return PersonaService(db_session)


PERSONAS = ResourceRoutes.by_ref(PersonaRead, PersonaRefParam, read_guards=READ, write_guards=WRITE)


class PersonaController(Controller):
    path = "/personas"
    tags = ["personas"]
    dependencies = {"service": Provide(provide_persona_service, sync_to_thread=False)}

    create_persona = PERSONAS.create(
        PersonaCreate,
        operation_id="createPersona",
        summary="Create a persona",
        responses=problems(400, 401, 403, 409, 413, 422),
    )

    @get(
        operation_id="listPersonas",
        summary="List personas",
        guards=READ,
        responses=problems(400, 401, 403),
    )
    async def list_personas(
        self,
        service: NamedDependency[PersonaService],
        archived: bool = Parameter(default=False, description="Archived personas instead."),
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[PersonaRead]:
        page = PageRequest.parse(limit=limit, cursor=cursor)
        rows, next_cursor = await service.list_page(page, archived=archived)
        return Page(items=[PersonaRead.model_validate(p) for p in rows], next_cursor=next_cursor)

    get_persona = PERSONAS.get(
        operation_id="getPersona",
        summary="Read a persona",
        responses=problems(400, 401, 403, 404),
    )
    update_persona = PERSONAS.update(
        PersonaUpdate,
        operation_id="updatePersona",
        summary="Change a persona",
        description="Send only the fields to change. `If-Match` with the ETag guards "
        "against overwriting someone else's change (412).",
        responses=problems(400, 401, 403, 404, 409, 412, 413, 422),
    )
    archive_persona = PERSONAS.archive(
        True,
        operation_id="archivePersona",
        summary="Archive a persona",
        description="Archived personas leave lists and mapping but keep their history.",
        responses=problems(400, 401, 403, 404),
    )
    unarchive_persona = PERSONAS.archive(
        False,
        operation_id="unarchivePersona",
        summary="Restore an archived persona",
        responses=problems(400, 401, 403, 404),
    )

    @delete(
        "/{ref:str}",
        operation_id="deletePersona",
        summary="Delete a persona",
        description="Refused with 409 while assets are tagged to it, unless `force=true`, "
        "which removes those tags too. Archive instead to keep its history.",
        guards=WRITE,
        dependencies={"assets": Provide(provide_asset_service, sync_to_thread=False)},
        responses=problems(400, 401, 403, 404, 409),
    )
    async def delete_persona(
        self,
        service: NamedDependency[PersonaService],
        assets: NamedDependency[AssetService],
        ref: str = PersonaRefParam,
        force: bool = Parameter(default=False, description="Also remove its asset tags."),
    ) -> None:
        persona = await service.get(ref, lock=True)
        tagged = await assets.count_tagged_to(persona.id)
        if tagged and not force:
            raise PersonaInUse(
                f"{tagged} asset(s) are tagged to this persona; untag them or pass force=true"
            )
        await service.delete(persona)
