"""`/api/v1/cases`: the follow-up of negative survey answers; `/api/v1/leads/{id}/cases`: a
lead's cases."""

import uuid
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.db import bind_of, utcnow
from inbound.errors import problems
from inbound.field_messages import describe_pattern
from inbound.leads.service import LeadNotFound, LeadService
from inbound.pagination import DEFAULT_LIMIT, LimitParam
from inbound.resource_routes import ResourceRoutes, provide_service
from inbound.responses import ETAG_HEADER, check_if_match, one
from inbound.schemas import NO_NUL
from inbound.surveys.case_events import link_document
from inbound.surveys.case_repository import CaseFilter, CasePage, decode_case_cursor
from inbound.surveys.case_schemas import CaseList, CaseRead, CaseUpdate
from inbound.surveys.case_service import CaseService, LinkMaker
from inbound.surveys.links import LinkClaim, LinkKeys, sign
from inbound.surveys.models import CaseStatus
from inbound.surveys.repository import SurveyRepository, TouchpointRepository

READ = [requires(Scope.LEADS_READ)]
WRITE = [requires(Scope.LEADS_WRITE)]
# How long the link that asks a contact again, after its case is resolved, stays valid.
RESURVEY_LINK_DAYS = 30
CaseCursor = Annotated[
    str | None,
    QueryParameter(
        pattern=describe_pattern(r"^[A-Za-z0-9_-]{32}$", "must be a next_cursor this list gave"),
        description="`next_cursor` of the previous page; opaque.",
    ),
]
Ref = Annotated[
    str | None,
    QueryParameter(max_length=64, pattern=NO_NUL, description="An id or a slug; an unknown one "
                   "matches nothing."),
]  # fmt: skip
Overdue = Annotated[
    bool | None,
    QueryParameter(description="true: not resolved and due before now; false: the others."),
]
LIST_DESCRIPTION = (
    "The earliest due first; pages are keyset-based. Filters combine with AND: `status`, "
    "`owner`, `survey` and `touchpoint` (id or slug), `contact_id`, and `overdue`."
)


CASES = ResourceRoutes.by_id(CaseRead, "case_id", read_guards=READ, write_guards=WRITE)


class CaseController(Controller):
    path = "/cases"
    tags = ["surveys"]
    dependencies = {"service": provide_service(CaseService)}

    @CASES.collection(
        "listCases",
        "List the follow-up cases of negative answers",
        description=LIST_DESCRIPTION,
    )
    async def list_cases(
        self,
        service: NamedDependency[CaseService],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[CaseStatus | None] = None,
        owner: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        survey: Ref = None,
        touchpoint: Ref = None,
        contact_id: FromQuery[uuid.UUID | None] = None,
        overdue: Overdue = None,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CaseCursor = None,
    ) -> CaseList:
        survey_id = await _id_of(SurveyRepository(db_session), survey)
        touchpoint_id = await _id_of(TouchpointRepository(db_session), touchpoint)
        if (survey and survey_id is None) or (touchpoint and touchpoint_id is None):
            return CaseList(items=[], next_cursor=None)
        now = utcnow()
        filters = CaseFilter(
            status=status, owner=owner, survey_id=survey_id, touchpoint_id=touchpoint_id,
            contact_id=contact_id, overdue_at=now if overdue else None,
            on_time_at=now if overdue is False else None,
        )  # fmt: skip
        page = CasePage(limit=limit, after=decode_case_cursor(cursor) if cursor else None)
        items, next_cursor = await service.list_page(filters, page)
        return CaseList(items=items, next_cursor=next_cursor)

    get_case = CASES.get("getCase", "Read a follow-up case")

    @CASES.on_item(
        patch,
        "",
        "updateCase",
        "Move a case forward, give it an owner or a note",
        description="Send only the fields to change. `status` moves forward only: `open` → "
        "`contacted` → `resolved`, or `open` → `resolved` (422 naming `status` otherwise). "
        "`owner` and `note` take null to clear them. Resolving frees the contact's window on "
        "the survey (it may answer again at once) and `case.resolved` carries a new signed "
        "link. `If-Match` with the ETag refuses a stale write (412).",
        responses=problems(400, 401, 403, 404, 412, 413, 422),
        response_headers=[ETAG_HEADER],
    )
    async def update_case(
        self,
        request: Request[Any, Any, Any],
        case_id: FromPath[uuid.UUID],
        data: JSONBody[CaseUpdate],
        service: NamedDependency[CaseService],
    ) -> Response[CaseRead]:
        make_link = await _link_maker(request)
        case = await service.update(
            case_id,
            data.changes(),
            precondition=lambda version: check_if_match(request, version),
            make_link=make_link,
        )
        return one(case, version=case.version)


class LeadCaseController(Controller):
    path = "/leads"
    tags = ["leads"]
    dependencies = {"service": provide_service(CaseService)}

    @get(
        "/{lead_id:uuid}/cases",
        operation_id="listLeadCases",
        summary="A lead's follow-up cases, the earliest due first",
        description="`status` and `overdue` narrow them, as on `/api/v1/cases`.",
        guards=READ,
        responses=problems(400, 401, 403, 404),
    )
    async def list_lead_cases(
        self,
        lead_id: FromPath[uuid.UUID],
        service: NamedDependency[CaseService],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[CaseStatus | None] = None,
        overdue: Overdue = None,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CaseCursor = None,
    ) -> CaseList:
        if not await LeadService(db_session).exists(lead_id):
            raise LeadNotFound(f"no lead {lead_id}")
        now = utcnow()
        filters = CaseFilter(
            status=status, contact_id=lead_id, overdue_at=now if overdue else None,
            on_time_at=now if overdue is False else None,
        )  # fmt: skip
        page = CasePage(limit=limit, after=decode_case_cursor(cursor) if cursor else None)
        items, next_cursor = await service.list_page(filters, page)
        return CaseList(items=items, next_cursor=next_cursor)


async def _id_of(
    repository: SurveyRepository | TouchpointRepository, ref: str | None
) -> uuid.UUID | None:
    if ref is None:
        return None
    found = await repository.get_by_ref(ref)
    return found.id if found is not None else None


async def _link_maker(request: Request[Any, Any, Any]) -> LinkMaker:
    """What signs the link `case.resolved` carries. The key is read (or made) before the
    request's session writes: on SQLite, a key made on another connection would wait for this
    request's own lock."""
    keys: LinkKeys = request.app.state.survey_link_keys
    key = await keys.key(bind_of(request.app.state.sessionmaker))
    base_url = str(request.base_url)

    def make(survey_id: uuid.UUID, contact_id: uuid.UUID) -> dict[str, Any]:
        expires_at = utcnow().replace(microsecond=0) + timedelta(days=RESURVEY_LINK_DAYS)
        claim = LinkClaim(survey_id, contact_id, expires_at)
        return link_document(claim, sign(key, claim), base_url)

    return make
