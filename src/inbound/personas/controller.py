"""`/api/v1/personas`: the content team's buyer personas."""

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.content.controller import provide_asset_service
from inbound.content.service import AssetService
from inbound.errors import Conflict, problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.personas.schemas import PersonaCreate, PersonaRead, PersonaUpdate
from inbound.personas.service import PersonaService
from inbound.responses import ETAG_HEADER, LOCATION_HEADER, check_if_match, created, one
from inbound.schemas import NO_NUL

READ = [requires(Scope.CONTENT_READ)]
WRITE = [requires(Scope.CONTENT_WRITE)]
PersonaRefParam = Parameter(description="The persona's id or slug.", max_length=64, pattern=NO_NUL)


class PersonaInUse(Conflict):
    problem = "persona-in-use"


def provide_persona_service(db_session: NamedDependency[AsyncSession]) -> PersonaService:
    return PersonaService(db_session)


class PersonaController(Controller):
    path = "/personas"
    tags = ["personas"]
    dependencies = {"personas": Provide(provide_persona_service, sync_to_thread=False)}

    @post(
        operation_id="createPersona",
        summary="Create a persona",
        guards=WRITE,
        responses=problems(400, 401, 403, 409, 413, 422),
        response_headers=[LOCATION_HEADER],
    )
    async def create_persona(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PersonaCreate],
        personas: NamedDependency[PersonaService],
    ) -> Response[PersonaRead]:
        persona = await personas.create(data.model_dump(mode="json"))
        return created(request, PersonaRead.model_validate(persona), persona.id)

    @get(
        operation_id="listPersonas",
        summary="List personas",
        guards=READ,
        responses=problems(400, 401, 403),
    )
    async def list_personas(
        self,
        personas: NamedDependency[PersonaService],
        archived: bool = Parameter(default=False, description="Archived personas instead."),
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[PersonaRead]:
        page = PageRequest.parse(limit=limit, cursor=cursor)
        rows, next_cursor = await personas.list_page(page, archived=archived)
        return Page(items=[PersonaRead.model_validate(p) for p in rows], next_cursor=next_cursor)

    @get(
        "/{ref:str}",
        operation_id="getPersona",
        summary="Read a persona",
        guards=READ,
        responses=problems(400, 401, 403, 404),
        response_headers=[ETAG_HEADER],
    )
    async def get_persona(
        self, personas: NamedDependency[PersonaService], ref: str = PersonaRefParam
    ) -> Response[PersonaRead]:
        persona = await personas.get(ref)
        return one(PersonaRead.model_validate(persona), version=persona.version)

    @patch(
        "/{ref:str}",
        operation_id="updatePersona",
        summary="Change a persona",
        description="Send only the fields to change. `If-Match` with the ETag guards "
        "against overwriting someone else's change (412).",
        guards=WRITE,
        responses=problems(400, 401, 403, 404, 409, 412, 413, 422),
        response_headers=[ETAG_HEADER],
    )
    async def update_persona(
        self,
        request: Request[Any, Any, Any],
        personas: NamedDependency[PersonaService],
        data: JSONBody[PersonaUpdate],
        ref: str = PersonaRefParam,
    ) -> Response[PersonaRead]:
        persona = await personas.get(ref, lock=True)
        check_if_match(request, persona.version)
        persona = await personas.update(persona, data.changes())
        return one(PersonaRead.model_validate(persona), version=persona.version)

    @post(
        "/{ref:str}/archive",
        operation_id="archivePersona",
        summary="Archive a persona",
        description="Archived personas leave lists and mapping but keep their history.",
        status_code=200,
        guards=WRITE,
        responses=problems(400, 401, 403, 404),
        response_headers=[ETAG_HEADER],
    )
    async def archive_persona(
        self, personas: NamedDependency[PersonaService], ref: str = PersonaRefParam
    ) -> Response[PersonaRead]:
        persona = await personas.set_archived(await personas.get(ref, lock=True), True)
        return one(PersonaRead.model_validate(persona), version=persona.version)

    @post(
        "/{ref:str}/unarchive",
        operation_id="unarchivePersona",
        summary="Restore an archived persona",
        status_code=200,
        guards=WRITE,
        responses=problems(400, 401, 403, 404),
        response_headers=[ETAG_HEADER],
    )
    async def unarchive_persona(
        self, personas: NamedDependency[PersonaService], ref: str = PersonaRefParam
    ) -> Response[PersonaRead]:
        persona = await personas.set_archived(await personas.get(ref, lock=True), False)
        return one(PersonaRead.model_validate(persona), version=persona.version)

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
        personas: NamedDependency[PersonaService],
        assets: NamedDependency[AssetService],
        ref: str = PersonaRefParam,
        force: bool = Parameter(default=False, description="Also remove its asset tags."),
    ) -> None:
        persona = await personas.get(ref, lock=True)
        tagged = await assets.count_tagged_to(persona.id)
        if tagged and not force:
            raise PersonaInUse(
                f"{tagged} asset(s) are tagged to this persona; untag them or pass force=true"
            )
        await personas.delete(persona)
