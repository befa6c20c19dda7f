"""`/api/v1/personas`: the content team's buyer personas."""

from litestar import Controller, delete
from litestar.di import NamedDependency
from litestar.params import Parameter

from inbound.content.controller import READ, WRITE
from inbound.content.service import AssetService
from inbound.errors import Conflict, problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from inbound.personas.schemas import PersonaCreate, PersonaRead, PersonaUpdate
from inbound.personas.service import PersonaService
from inbound.resource_routes import ResourceRoutes, provide_service


class PersonaInUse(Conflict, problem="persona-in-use"): ...


PERSONAS = ResourceRoutes.by_ref(
    PersonaRead, "The persona's id or slug.", read_guards=READ, write_guards=WRITE
)


class PersonaController(Controller):
    path = "/personas"
    tags = ["personas"]
    dependencies = {"service": provide_service(PersonaService)}

    create_persona = PERSONAS.create(PersonaCreate, "createPersona", "Create a persona")

    @PERSONAS.collection("listPersonas", "List personas")
    async def list_personas(
        self,
        service: NamedDependency[PersonaService],
        archived: bool = Parameter(default=False, description="Archived personas instead."),
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[PersonaRead]:
        return await PERSONAS.listed(service, limit, cursor, archived=archived)

    get_persona = PERSONAS.get("getPersona", "Read a persona")
    update_persona = PERSONAS.update(
        PersonaUpdate,
        "updatePersona",
        "Change a persona",
        description="Send only the fields to change. `If-Match` with the ETag guards "
        "against overwriting someone else's change (412).",
    )
    archive_persona = PERSONAS.archive(
        "archivePersona",
        "Archive a persona",
        description="Archived personas leave lists and mapping but keep their history.",
    )
    unarchive_persona = PERSONAS.unarchive("unarchivePersona", "Restore an archived persona")

    @PERSONAS.on_item(
        delete,
        "",
        "deletePersona",
        "Delete a persona",
        description="Refused with 409 while assets are tagged to it, unless `force=true`, "
        "which removes those tags too. Archive instead to keep its history.",
        dependencies={"assets": provide_service(AssetService)},
        responses=problems(400, 401, 403, 404, 409),
    )
    async def delete_persona(
        self,
        service: NamedDependency[PersonaService],
        assets: NamedDependency[AssetService],
        ref: str = PERSONAS.ref_param,
        force: bool = Parameter(default=False, description="Also remove its asset tags."),
    ) -> None:
        persona = await service.get(ref, lock=True)
        tagged = await assets.count_tagged_to(persona.id)
        if tagged and not force:
            raise PersonaInUse(
                f"{tagged} asset(s) are tagged to this persona; untag them or pass force=true"
            )
        await service.delete(persona)
