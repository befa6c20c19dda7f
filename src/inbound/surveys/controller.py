"""`/api/v1/touchpoints` and `/api/v1/surveys`: where experience is measured, and what is asked."""

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.content.controller import READ, WRITE
from inbound.db import bind_of, utcnow
from inbound.errors import Unprocessable, problems
from inbound.leads.service import LeadService
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from inbound.query_params import ref_filter
from inbound.resource_routes import ResourceRoutes, provide_service
from inbound.surveys.links import LinkClaim, LinkKeys, sign
from inbound.surveys.models import Metric, TouchpointKind
from inbound.surveys.schemas import (
    LinkCreate,
    LinkRead,
    SurveyCreate,
    SurveyRead,
    SurveyUpdate,
    TouchpointCreate,
    TouchpointRead,
    TouchpointUpdate,
)
from inbound.surveys.service import SurveyClosed, SurveyService, TouchpointService

ArchivedParam = Parameter(default=False, description="Archived ones instead.")


TOUCHPOINTS = ResourceRoutes.by_ref(
    TouchpointRead, "The id or slug.", read_guards=READ, write_guards=WRITE
)
SURVEYS = ResourceRoutes.by_ref(SurveyRead, "The id or slug.", read_guards=READ, write_guards=WRITE)


class TouchpointController(Controller):
    path = "/touchpoints"
    tags = ["surveys"]
    dependencies = {"service": provide_service(TouchpointService)}

    create_touchpoint = TOUCHPOINTS.create(
        TouchpointCreate,
        "createTouchpoint",
        "Create a touchpoint",
        description="A `stage` touchpoint names a lifecycle stage, an `asset` one a live asset "
        "(id or slug), a `channel` one a channel (`support`); exactly that field is given "
        "(422 otherwise).",
    )

    @TOUCHPOINTS.collection(
        "listTouchpoints",
        "List touchpoints",
        description="Ordered by creation; pages are keyset-based.",
    )
    async def list_touchpoints(
        self,
        service: NamedDependency[TouchpointService],
        kind: FromQuery[TouchpointKind | None] = None,
        archived: bool = ArchivedParam,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[TouchpointRead]:
        kind_value = kind.value if kind else None
        return await TOUCHPOINTS.listed(service, limit, cursor, kind=kind_value, archived=archived)

    get_touchpoint = TOUCHPOINTS.get("getTouchpoint", "Read a touchpoint")
    update_touchpoint = TOUCHPOINTS.update(
        TouchpointUpdate,
        "updateTouchpoint",
        "Change a touchpoint",
        description="Send only the fields to change. A new `kind` clears the other kinds' "
        "fields. `If-Match` with the ETag refuses a stale write (412).",
    )
    archive_touchpoint = TOUCHPOINTS.archive("archiveTouchpoint", "Archive a touchpoint")
    unarchive_touchpoint = TOUCHPOINTS.unarchive(
        "unarchiveTouchpoint", "Restore an archived touchpoint"
    )
    delete_touchpoint = TOUCHPOINTS.delete(
        "deleteTouchpoint",
        "Delete a touchpoint",
        description="Refused (409) while surveys ask at it: archive it instead.",
        responses=problems(400, 401, 403, 404, 409),
    )


class SurveyController(Controller):
    path = "/surveys"
    tags = ["surveys"]
    dependencies = {"service": provide_service(SurveyService)}

    create_survey = SURVEYS.create(
        SurveyCreate,
        "createSurvey",
        "Create a survey",
        description="NPS is asked 0 to 10 and CSAT 1 to 5; CES states its `scale`, 5 or 7 "
        "(from 1), which the others refuse. The touchpoint must not be archived.",
    )

    @SURVEYS.collection(
        "listSurveys",
        "List surveys",
        description="Filters combine with AND. Ordered by creation; pages are keyset-based.",
    )
    async def list_surveys(
        self,
        service: NamedDependency[SurveyService],
        touchpoint: str | None = ref_filter(
            "Asked at this touchpoint (id or slug); an unknown one matches nothing."
        ),
        metric: FromQuery[Metric | None] = None,
        archived: bool = ArchivedParam,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[SurveyRead]:
        return await SURVEYS.listed(
            service,
            limit,
            cursor,
            touchpoint=touchpoint,
            metric=metric.value if metric else None,
            archived=archived,
        )

    get_survey = SURVEYS.get("getSurvey", "Read a survey")
    update_survey = SURVEYS.update(
        SurveyUpdate,
        "updateSurvey",
        "Change a survey",
        description="Send only the fields to change. Once the survey has answers, its metric "
        "and scale stay (409). `If-Match` with the ETag refuses a stale write (412).",
    )
    archive_survey = SURVEYS.archive(
        "archiveSurvey",
        "Archive a survey",
        description="An archived survey takes no more answers; its answers stay.",
    )
    unarchive_survey = SURVEYS.unarchive("unarchiveSurvey", "Restore an archived survey")
    delete_survey = SURVEYS.delete(
        "deleteSurvey",
        "Delete a survey",
        description="Refused (409) once it has answers: archive it instead.",
        responses=problems(400, 401, 403, 404, 409),
    )

    @SURVEYS.on_item(
        post,
        "/links",
        "createSurveyLink",
        "Make a signed link for a contact to answer",
        description="The link's page (`url`, on `INBOUND_PUBLIC_URL` when it is set, else on "
        "the address the request came to) shows the question and a form that works "
        "without JavaScript; the token can also be posted to `/api/v1/survey-answers`. It "
        "names the survey, the contact and the expiry, signed (HMAC-SHA256); anyone holding "
        "it answers as that contact, once per survey window.",
        guards=[requires(Scope.LEADS_WRITE)],
        responses=problems(400, 401, 403, 404, 410, 413, 422),
    )
    async def create_survey_link(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LinkCreate],
        service: NamedDependency[SurveyService],
        db_session: NamedDependency[AsyncSession],
        ref: str = SURVEYS.ref_param,
    ) -> Response[LinkRead]:
        # Read (or made) before this request's session writes: on SQLite, a key made on
        # another connection would wait for this request's own lock.
        keys: LinkKeys = request.app.state.survey_link_keys
        key = await keys.key(bind_of(request.app.state.sessionmaker))
        survey = await service.get(ref)
        if survey.archived:
            raise SurveyClosed(f"survey {survey.slug!r} no longer takes answers")
        if not await LeadService(db_session).exists(data.contact_id):
            raise Unprocessable(f"no contact {data.contact_id}", field="contact_id")
        expires_at = utcnow().replace(microsecond=0) + timedelta(days=data.expires_in_days)
        token = sign(key, LinkClaim(survey.id, data.contact_id, expires_at))
        # Behind a proxy the request's own address may be an internal one: the setting wins.
        base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
        url = f"{base}/s/{token}"
        return Response(LinkRead(token=token, url=url, expires_at=expires_at), status_code=201)
