"""`/s/{token}`: the page a signed survey link opens, with a form that needs no JavaScript.

Everything shown is escaped (Jinja's autoescape); the page loads nothing, runs no script and
may only post to itself (its Content-Security-Policy says so); nothing is cached.
"""

from datetime import datetime, timedelta
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import bind_of, utcnow
from inbound.errors import InboundError
from inbound.form_values import form_integer
from inbound.leads.service import LeadService
from inbound.pages import PageController, html_page, page_templates
from inbound.surveys.answer_controller import answer_by_link
from inbound.surveys.answering import AlreadyAnswered, ScoreOffScale
from inbound.surveys.links import LinkClaim, LinkExpired, LinkKeys, LinkNotFound, verify
from inbound.surveys.models import Metric, Survey
from inbound.surveys.repository import SurveyRepository

MAX_PAGE_FORM_BYTES = 16 * 1024
MAX_COMMENT = 5000
ENDS = {
    Metric.NPS: ("Not at all likely", "Extremely likely"),
    Metric.CES: ("Very difficult", "Very easy"),
    Metric.CSAT: ("Very unsatisfied", "Very satisfied"),
}
LEGENDS = {
    Metric.NPS: "Choose from 0 to 10",
    Metric.CES: "Choose from 1 to {high}",
    Metric.CSAT: "Choose from 1 to 5",
}

_templates = page_templates("inbound.surveys")


class SurveyPageController(PageController):
    path = "/s"

    @get("/{token:str}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[str]:
        now = utcnow()
        try:
            claim = await _claim(request, token, now)
        except InboundError as refused:
            return _refusal(refused)
        found = await _survey_of(db_session, claim)
        if isinstance(found, Response):
            return found
        began = await SurveyRepository(db_session).window_began(found.id, claim.contact_id)
        ends = began + timedelta(days=found.window_days) if began else None
        if ends is not None and ends > now:
            return _page({"state": "answered", "window_ends": _day(ends)}, status=200)
        return _form(found, token, status=200)

    @post("/{token:str}", status_code=303, request_max_body_size=MAX_PAGE_FORM_BYTES)
    async def answer(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        form = await request.form()
        score_text = form.get("score")
        comment = form.get("comment")
        comment = comment if isinstance(comment, str) and comment.strip() else None
        score = form_integer(score_text) if isinstance(score_text, str) else None
        error, status = None, 400
        if score is None:
            error = "Choose a score."
        elif comment is not None and len(comment) > MAX_COMMENT:
            error = f"The comment is too long: at most {MAX_COMMENT} characters."
        elif comment is not None and "\x00" in comment:
            error = "The comment holds a character that cannot be kept (a NUL); remove it."
        else:
            try:
                await answer_by_link(request, token, score, comment)
            except AlreadyAnswered as refused:
                page = {"state": "already", "window_ends": _day(refused.window_ends_at)}
                return _page(page, status=409)
            except ScoreOffScale as refused:
                # Well formed, off this survey's scale: as the JSON endpoint answers it.
                error, status = refused.detail, 422
            except InboundError as refused:
                return _refusal(refused)
            else:
                return Response(
                    "", status_code=303, media_type=MediaType.HTML,
                    headers={"Location": f"/s/{token}", "Cache-Control": "no-store"},
                )  # fmt: skip
        async with request.app.state.sessionmaker() as session:
            try:
                claim = await _claim(request, token, utcnow())
            except InboundError as refused:
                return _refusal(refused)
            found = await _survey_of(session, claim)
        if isinstance(found, Response):
            return found
        return _form(found, token, status=status, error=error, chosen=score, comment=comment)


async def _claim(request: Request[Any, Any, Any], token: str, now: datetime) -> LinkClaim:
    keys: LinkKeys = request.app.state.survey_link_keys
    return verify(await keys.key(bind_of(request.app.state.sessionmaker)), token, now)


async def _survey_of(session: AsyncSession, claim: LinkClaim) -> Survey | Response[str]:
    """The survey a link names, or the page saying why it cannot be answered."""
    survey = await SurveyRepository(session).get_or_none(claim.survey_id)
    if survey is None or not await LeadService(session).exists(claim.contact_id):
        return _refusal(LinkNotFound("this survey link is not valid"))
    if survey.archived:
        return _message("Survey closed", "This survey no longer takes answers.", status=410)
    return survey


def _form(
    survey: Survey,
    token: str,
    *,
    status: int,
    error: str | None = None,
    chosen: int | None = None,
    comment: str | None = None,
) -> Response[str]:
    metric = Metric(survey.metric)
    low_label, high_label = ENDS[metric]
    return _page(
        {
            "state": "form",
            "title": survey.question,
            "question": survey.question,
            "legend": LEGENDS[metric].format(high=survey.scale_max),
            "points": range(survey.scale_min, survey.scale_max + 1),
            "low_label": low_label,
            "high_label": high_label,
            "comment_prompt": survey.comment_prompt,
            "token": token,
            "error": error,
            "chosen": chosen,
            "comment": comment,
        },
        status=status,
    )


def _refusal(refused: InboundError) -> Response[str]:
    if isinstance(refused, LinkExpired):
        return _message("Link expired", "This survey link has expired.", status=410)
    if isinstance(refused, LinkNotFound):
        return _message("Link not valid", "This survey link is not valid.", status=404)
    return _message("Survey closed", "This survey no longer takes answers.", status=410)


def _message(title: str, message: str, *, status: int) -> Response[str]:
    return _page({"state": "message", "title": title, "message": message}, status=status)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _page(context: dict[str, Any], *, status: int) -> Response[str]:
    context.setdefault("title", "Survey")
    html = _templates.get_template("answer.html.j2").render(**context)
    # The token is in the address: no Referer may carry it elsewhere.
    return html_page(html, status=status, headers={"Referrer-Policy": "no-referrer"})
