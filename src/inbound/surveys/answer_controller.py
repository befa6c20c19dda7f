"""Answers: posted by a site's pages with its public key, or with a signed link's token; read
back by the team.

The public endpoint answers browsers directly, as captures do: the site's key (header or
`_key`), CORS and the origin check, a per-address rate limit, JSON or a plain form, the
`_hp` honeypot and `_redirect`.
"""

import uuid
from typing import Annotated, Any

import structlog
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import authenticate, requires
from inbound.auth.scopes import Scope as KeyScope
from inbound.config import Settings
from inbound.contract import document_request_body, document_response
from inbound.db import bind_of, new_id, utcnow
from inbound.errors import BadRequest, TooManyRequests, problems
from inbound.form_values import form_integer
from inbound.leads.capture.client import rate_bucket
from inbound.leads.capture.redirects import Redirect, checked_redirect
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.site_access import capture_cors, check_site_origin, site_key_of
from inbound.leads.sales.controller import RFC3339
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.query_params import parse_instant, refuse_unknown_query_parameters
from inbound.ratelimit import RateLimiter
from inbound.request_body import read_json_or_form
from inbound.schemas import NO_NUL
from inbound.surveys.answering import (
    AlreadyAnswered,
    Answer,
    Respondent,
    record_answer,
    survey_taking,
)
from inbound.surveys.links import LinkKeys, verify
from inbound.surveys.models import AnswerSource
from inbound.surveys.schemas import AnswerAccepted, AnswerCreate, AnswerRead, LinkAnswerCreate
from inbound.surveys.service import SurveyService

logger = structlog.get_logger(__name__)

MAX_ANSWER_BYTES = 16 * 1024
FORM_NAMES = frozenset(field.alias or name for name, field in AnswerCreate.model_fields.items())
SurveyRef = Annotated[
    str, PathParameter(description="The survey's id or slug.", max_length=64, pattern=NO_NUL)
]


class InvalidAnswer(BadRequest, problem="validation"): ...


class SurveyAnswerController(Controller):
    path = "/api/v1/surveys/{ref:str}/answers"
    tags = ["surveys"]
    middleware = [capture_cors]

    @post(
        operation_id="answerSurvey",
        summary="Answer a survey from a site's page",
        description=(
            "Posted by a site's pages with the site's public key, as JSON or as a plain HTML "
            "form. `email` names a known contact (an unknown one creates nothing and is not "
            "kept), else a `visitor_id` linked to a contact names it; otherwise the answer is "
            "anonymous, counted against the `visitor_id` when given. A second answer inside "
            "the survey's window is refused with `409` (`already-answered`, with "
            "`window_ends_at`), except one that gives an `email`: anyone may type anyone's, "
            "so it is answered like a success and stored nowhere, telling nothing of that "
            "email. A contact named on the page's word never keeps the contact's own signed "
            "link from answering, and its answer stops counting as the contact's once the link "
            "has answered in the window. The answer says nothing of who answered. A post that "
            "fills `_hp` is answered like a success and stored nowhere."
        ),
        status_code=201,
        request_max_body_size=MAX_ANSWER_BYTES,
        security=[{"siteKey": []}],
        responses=problems(400, 401, 403, 404, 409, 410, 413, 415, 422, 429),
    )
    async def answer_survey(
        self, request: Request[Any, Any, Any], ref: SurveyRef
    ) -> Response[AnswerAccepted]:
        state = request.app.state
        limiter: RateLimiter = state.rate_limiter
        client_ip = request.client.host if request.client else "unknown"
        verdict = await limiter.hit(state.survey_limit, "survey-ip", rate_bucket(client_ip))
        if not verdict.allowed:
            raise TooManyRequests(
                f"too many answers; retry in {verdict.retry_after} s",
                headers={"Retry-After": str(verdict.retry_after)},
            )
        posted = await _read_body(request)
        reference: CaptureReference = state.capture_reference
        await reference.follow_other_processes()
        site_key = await site_key_of(reference, request, posted)
        check_site_origin(request, site_key)
        redirect = checked_redirect(posted.get("_redirect"), site_key.allowed_origins)
        try:
            form = AnswerCreate.model_validate(posted)
        except ValidationError as exc:
            raise InvalidAnswer.from_validation(exc) from None
        if form.honeypot:
            # Refused as a real answer would be, and else answered like one, with its survey's
            # id: a bot must not tell the honeypot from the form.
            survey = await survey_taking(reference, ref, form.score)
            logger.info("answer refused as spam", site_id=str(site_key.site_id))
            return _answer(_pretended(form.score, survey["id"]), redirect)
        respondent = Respondent(email=form.email, visitor_id=form.visitor_id)
        given = Answer(form.score, form.comment, AnswerSource.PUBLIC, site_key.site_id)
        try:
            row = await record_answer(
                bind_of(state.sessionmaker), reference, ref, respondent, given, utcnow(),
                wait_for_flush=_waits_for_flush(state),
            )  # fmt: skip
        except AlreadyAnswered as refused:
            if form.email is not None:
                # Anyone may type anyone's email: a refusal would tell them that it is a
                # contact's, and when it answered. Answered as taken, stored nowhere.
                logger.info("answer inside its window, for an email", site_id=str(site_key.site_id))
                return _answer(_pretended(form.score, refused.survey_id), redirect)
            if redirect is None:
                raise
            # A plain form's page is told on its own thank-you page.
            ends = refused.window_ends_at.isoformat().replace("+00:00", "Z")
            location = redirect.with_query({"already_answered": "true", "window_ends_at": ends})
            return _see_other(location)
        return _answer(AnswerAccepted.model_validate(row), redirect)

    @get(
        operation_id="listSurveyAnswers",
        summary="List a survey's answers",
        description="In the order they came, with comments; pages are keyset-based. "
        "`source=link` keeps the answers given through signed links, `source=public` those "
        "posted by the sites' pages.",
        guards=[authenticate, refuse_unknown_query_parameters, requires(KeyScope.LEADS_READ)],
        security=[{"bearerAuth": []}],
        responses=problems(400, 401, 403, 404),
    )
    async def list_survey_answers(
        self,
        ref: SurveyRef,
        db_session: NamedDependency[AsyncSession],
        contact_id: FromQuery[uuid.UUID | None] = None,
        source: FromQuery[AnswerSource | None] = None,
        since: Annotated[
            str | None,
            QueryParameter(
                pattern=RFC3339,
                description="Answered at or after this RFC 3339 time, e.g. `2026-11-24T09:00:00Z`.",
            ),
        ] = None,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[AnswerRead]:
        surveys = SurveyService(db_session)
        survey = await surveys.get(ref)
        rows, next_cursor = await surveys.answers_page(
            survey,
            PageRequest.parse(limit=limit, cursor=cursor),
            contact_id=contact_id,
            since=parse_instant(since, refuse=InvalidAnswer, field="since"),
            source=source,
        )
        return Page(items=[AnswerRead.model_validate(a) for a in rows], next_cursor=next_cursor)


class LinkAnswerController(Controller):
    path = "/api/v1/survey-answers"
    tags = ["surveys"]

    @post(
        operation_id="answerSurveyLink",
        summary="Answer a survey with a signed link's token",
        description="The token names the survey and the contact. A token that is not valid "
        "answers `404` (`link-not-found`), an expired one `410` (`link-expired`); a second "
        "link answer inside the survey's window `409` (`already-answered`). A page's answer "
        "that named the contact does not count: the link's answer takes the window over.",
        status_code=201,
        request_max_body_size=MAX_ANSWER_BYTES,
        responses=problems(400, 404, 409, 410, 413, 422),
    )
    async def answer_survey_link(
        self, request: Request[Any, Any, Any], data: JSONBody[LinkAnswerCreate]
    ) -> Response[AnswerAccepted]:
        row = await answer_by_link(request, data.token, data.score, data.comment)
        return Response(AnswerAccepted.model_validate(row), status_code=201)


async def answer_by_link(
    request: Request[Any, Any, Any], token: str, score: int, comment: str | None
) -> dict[str, Any]:
    """Store the answer a signed link's holder gave."""
    state = request.app.state
    bind = bind_of(state.sessionmaker)
    keys: LinkKeys = state.survey_link_keys
    now = utcnow()
    claim = verify(await keys.key(bind), token, now)
    reference: CaptureReference = state.capture_reference
    await reference.follow_other_processes()
    respondent = Respondent(contact_id=claim.contact_id)
    given = Answer(score, comment, AnswerSource.LINK)
    return await record_answer(
        bind, reference, claim.survey_id, respondent, given, now,
        wait_for_flush=_waits_for_flush(state),
    )  # fmt: skip


def _waits_for_flush(state: Any) -> bool:
    settings: Settings = state.settings
    return settings.survey_answer_commit == "sync"


async def _read_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The posted fields, from JSON or from a plain form (whose values are all text)."""
    return await read_json_or_form(
        request, from_form=_from_form, refuse=InvalidAnswer, what="the answer"
    )


def _from_form(form: Any) -> dict[str, Any]:
    """A plain form's fields; names the answer does not take (a submit button's) are left."""
    data: dict[str, Any] = {}
    for name in form:
        if name not in FORM_NAMES:
            continue
        values = [v for v in form.getall(name) if isinstance(v, str)]
        if len(values) > 1:
            raise InvalidAnswer(f"`{name}` is given more than once", field=name)
        if not values or values[0].strip() == "":
            continue  # an empty input is a field left blank, not a value
        value = values[0]
        number = form_integer(value) if name == "score" else None
        data[name] = value if number is None else number
    return data


def _pretended(score: int, survey_id: uuid.UUID) -> AnswerAccepted:
    """What a taken answer looks like, for one that is stored nowhere."""
    return AnswerAccepted(id=new_id(), survey_id=survey_id, score=score, answered_at=utcnow())


def _answer(accepted: AnswerAccepted, redirect: Redirect | None) -> Response[AnswerAccepted]:
    if redirect is None:
        return Response(accepted, status_code=201)
    return _see_other(redirect.with_query({"answer_id": str(accepted.id)}))


def _see_other(location: str) -> Response[AnswerAccepted]:
    return Response(
        b"",  # type: ignore[arg-type]
        media_type=MediaType.TEXT,
        status_code=303,
        headers={"Location": location},
    )


document_request_body(
    "answerSurvey", AnswerCreate, ("application/json", "application/x-www-form-urlencoded")
)
document_response(
    "answerSurvey",
    303,
    "See Other: a form that sent `_redirect` (a URL on one of the site's origins) is sent "
    "there with `answer_id` in its query, or, when the respondent already answered inside "
    "the window, with `already_answered=true` and `window_ends_at`.",
    {"Location": "The `_redirect` URL with the outcome in its query."},
)
