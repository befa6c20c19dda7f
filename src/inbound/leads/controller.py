"""`/api/v1/leads`: one lead for the team; `/api/v1/settings`: scoring and mapping settings."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, cast

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody

from inbound.auth.principal import Principal, requires
from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.errors import problems
from inbound.leads.fields import lead_fields
from inbound.leads.qualification.scoring import decayed
from inbound.leads.qualification.settings import MappingSettings, ScoringSettings
from inbound.leads.schemas import (
    LeadRead,
    PersonaAssign,
    StageMoveRequest,
    TimelineEntry,
)
from inbound.leads.service import TIMELINE_LIMIT, LeadService, LeadView, Precondition
from inbound.leads.settings_service import MAPPING, SCORING, LeadSettingsService
from inbound.leads.stages import STAGES
from inbound.resource_routes import ResourceRoutes, provide_service
from inbound.responses import ETAG_HEADER, check_if_match, one
from inbound.surveys.case_schemas import CaseRead
from inbound.surveys.case_service import CaseService
from inbound.surveys.timeline import answer_timeline, case_timeline
from inbound.tracking.activity import behaviour_timeline

# The unresolved cases a lead shows; more are listed at `/leads/{id}/cases`.
OPEN_CASES_SHOWN = 50
READ = [requires(Scope.LEADS_READ)]
WRITE = [requires(Scope.LEADS_WRITE)]
ADMIN = [requires(Scope.ADMIN)]


# A lead's routes: read with READ, changed with WRITE; the change answers with the lead's ETag.
LEADS = ResourceRoutes.by_id(LeadRead, "lead_id", read_guards=READ, write_guards=WRITE)


def lead_route(
    method: Callable[..., Callable[[Callable[..., Any]], HTTPRouteHandler]],
    suffix: str,
    operation_id: str,
    summary: str,
    *,
    also: tuple[int, ...] = (),
    **route: Any,
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A route on one lead at `/{lead_id}` + ``suffix``: the problems every lead route gives
    (a change also 412, for a stale `If-Match`) and ``also``; but on `DELETE`, the lead's ETag."""
    codes = {400, 401, 403, 404, *also} | (set() if method is get else {412})
    route.setdefault("responses", problems(*sorted(codes)))
    if method is not delete:
        route.setdefault("response_headers", [ETAG_HEADER])
    return LEADS.on_item(method, suffix, operation_id, summary, **route)


@dataclass(frozen=True, slots=True)
class LeadChange:
    """A request that changes one lead: the services, and who asks with which `If-Match`."""

    leads: LeadService
    settings: LeadSettingsService
    request: Request[Any, Any, Any]

    @property
    def precondition(self) -> Precondition:
        return if_match(self.request)

    @property
    def actor(self) -> str:
        return actor_of(self.request)

    async def answer(self, lead_id: uuid.UUID, status_code: int = 200) -> Response[LeadRead]:
        """The changed lead as it stands, with its ETag."""
        return await lead_response(self.leads, self.settings, lead_id, status_code)


def provide_lead_change(
    request: Request[Any, Any, Any],
    leads: NamedDependency[LeadService],
    settings: NamedDependency[LeadSettingsService],
) -> LeadChange:
    return LeadChange(leads, settings, request)


# A handler's parameter for the change it makes.
Change: TypeAlias = NamedDependency[LeadChange]
LEAD_DEPENDENCIES = {
    "leads": provide_service(LeadService),
    "settings": provide_service(LeadSettingsService),
    "change": Provide(provide_lead_change, sync_to_thread=False),
}


def if_match(request: Request[Any, Any, Any]) -> Precondition:
    """The request's `If-Match`, checked against the locked lead's version."""
    return lambda version: check_if_match(request, version)


def actor_of(request: Request[Any, Any, Any]) -> str:
    """Who made a change, as stage changes and assignments record it."""
    principal: Principal = request.auth
    return f"key:{principal.key_id}"


class LeadController(Controller):
    path = "/leads"
    tags = ["leads"]
    dependencies = LEAD_DEPENDENCIES

    @lead_route(get, "", "getLead", "Read a lead with its persona, scores, stages and timeline")
    async def get_lead(
        self,
        lead_id: FromPath[uuid.UUID],
        leads: NamedDependency[LeadService],
        settings: NamedDependency[LeadSettingsService],
    ) -> Response[LeadRead]:
        return await lead_response(leads, settings, lead_id)

    @lead_route(
        post, "/stage", "moveLeadStage", "Move a lead to another lifecycle stage", also=(422,),
        description="Stages move forward; moving back needs `allow_regression: true`. Skipped "
        "stages count as reached. Moving to the stage the lead is at changes nothing.",
        status_code=200,
    )  # fmt: skip
    async def move_lead_stage(
        self, lead_id: FromPath[uuid.UUID], data: JSONBody[StageMoveRequest], change: Change
    ) -> Response[LeadRead]:
        await change.leads.move_stage(
            lead_id, data.stage, reason=data.reason, allow_regression=data.allow_regression,
            actor=change.actor, precondition=change.precondition,
        )  # fmt: skip
        return await change.answer(lead_id)

    @lead_route(
        put, "/persona", "assignLeadPersona", "Assign a persona by hand",
        description="The assignment stays through every automatic re-mapping until deleted.",
    )  # fmt: skip
    async def assign_lead_persona(
        self, lead_id: FromPath[uuid.UUID], data: JSONBody[PersonaAssign], change: Change
    ) -> Response[LeadRead]:
        await change.leads.assign_persona(
            lead_id, data.persona, reason=data.reason, actor=change.actor,
            precondition=change.precondition,
        )  # fmt: skip
        return await change.answer(lead_id)

    @lead_route(
        delete, "/persona", "clearLeadPersona", "Return a lead to automatic persona mapping"
    )
    async def clear_lead_persona(self, lead_id: FromPath[uuid.UUID], change: Change) -> None:
        await change.leads.clear_persona(
            lead_id, actor=change.actor, precondition=change.precondition
        )


async def lead_response(
    leads: LeadService, settings: LeadSettingsService, lead_id: uuid.UUID, status_code: int = 200
) -> Response[LeadRead]:
    """The lead as it stands, with its ETag."""
    view = await leads.view(lead_id)
    half_life = (await settings.current()).scoring.half_life_days
    session = leads.leads.session
    behaviour = await behaviour_timeline(session, lead_id, TIMELINE_LIMIT)
    answers = await answer_timeline(session, lead_id, TIMELINE_LIMIT)
    cases = await case_timeline(session, lead_id, TIMELINE_LIMIT)
    open_cases = await CaseService(session).open_of_contact(lead_id, OPEN_CASES_SHOWN)
    body = lead_read(view, half_life, utcnow(), [*behaviour, *answers, *cases], open_cases)
    return one(body, version=view.contact["version"], status_code=status_code)


def lead_read(
    view: LeadView,
    half_life_days: float,
    now: datetime,
    behaviour: Sequence[dict[str, Any]] = (),
    open_cases: Sequence[CaseRead] = (),
) -> LeadRead:
    """The API's picture of a lead; ``behaviour``, its newest timeline entries from tracking
    and surveys; ``open_cases``, its unresolved follow-up cases."""
    c = view.contact
    if view.persona is not None:
        c = {**c, "persona_slug": view.persona.slug, "persona_name": view.persona.name}
    timeline = [
        *(TimelineEntry(type="capture", at=x.created_at, id=x.id, detail={
            "asset_id": str(x.asset_id), "site_id": str(x.site_id), "utm_source": x.utm_source,
            "utm_medium": x.utm_medium, "utm_campaign": x.utm_campaign, "page_url": x.page_url,
        }) for x in view.captures),
        *(TimelineEntry(type="score", at=x.created_at, id=x.id, detail={
            "kind": x.kind, "points": x.points, "capped": x.capped,
            "capture_id": str(x.capture_id) if x.capture_id else None,
        }) for x in view.score_events),
        *(TimelineEntry(type="stage", at=x.changed_at, id=x.id, detail={
            "from": x.from_stage, "to": x.to_stage, "cause": x.cause, "actor": x.actor,
            "reason": x.reason,
        }) for x in view.stage_changes),
        *(TimelineEntry.model_validate(entry) for entry in behaviour),
    ]  # fmt: skip
    timeline.sort(key=lambda entry: (entry.at, entry.id), reverse=True)
    return LeadRead.model_validate(
        {
            **lead_fields(c),
            "reached_at": {stage: c[stage.reached_column] for stage in STAGES},
            "score": round(decayed(c["score"], c["score_at"], now, half_life_days), 2),
            "open_cases": list(open_cases),
            "timeline": timeline[:TIMELINE_LIMIT],
        }
    )


# The settings documents, in the order of `LeadSettings.versions`.
SETTING_NAMES = (SCORING, MAPPING)


def settings_routes(
    name: str, document: type[ScoringSettings | MappingSettings], *, title: str, description: str
) -> tuple[HTTPRouteHandler, HTTPRouteHandler]:
    """Read and replace one settings document at `/settings/{name}`, with its ETag."""
    kind = name.capitalize()

    async def read(self: Controller, settings: NamedDependency[LeadSettingsService]) -> Any:
        current = await settings.current()
        return one(getattr(current, name), version=current.versions[SETTING_NAMES.index(name)])

    async def replace(
        self: Controller,
        request: Request[Any, Any, Any],
        data: Any,
        settings: NamedDependency[LeadSettingsService],
    ) -> Any:
        row = await settings.lock(name)
        check_if_match(request, row.version)
        return one(data, version=await settings.replace(row, data))

    # The document's own schema, for the contract: the handlers are the same for both.
    answer, body = cast(Any, Response)[document], cast(Any, JSONBody)[document]
    read.__annotations__["return"] = replace.__annotations__["return"] = answer
    replace.__annotations__["data"] = body
    return (
        get(
            f"/{name}", operation_id=f"get{kind}Settings", summary=f"Read the {title} settings",
            responses=problems(400, 401, 403), response_headers=[ETAG_HEADER],
        )(read),
        put(
            f"/{name}", operation_id=f"replace{kind}Settings",
            summary=f"Replace the {title} settings", description=description,
            responses=problems(400, 401, 403, 412, 422), response_headers=[ETAG_HEADER],
        )(replace),
    )  # fmt: skip


class LeadSettingsController(Controller):
    path = "/settings"
    tags = ["settings"]
    guards = ADMIN
    dependencies = {"settings": provide_service(LeadSettingsService)}

    get_scoring_settings, replace_scoring_settings = settings_routes(
        SCORING, ScoringSettings, title="scoring",
        description="Fields left out take their defaults. Leads are re-graded in the "
        "background; one that now qualifies becomes an MQL with cause `score`.",
    )  # fmt: skip
    get_mapping_settings, replace_mapping_settings = settings_routes(
        MAPPING, MappingSettings, title="persona mapping",
        description="Fields left out take their defaults. Contacts are re-mapped in the "
        "background.",
    )  # fmt: skip
