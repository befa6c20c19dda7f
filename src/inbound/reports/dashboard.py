"""`/dashboard`: the funnel per persona, the journey (each stage's count and conversion beside
its NPS, CES and CSAT), the top assets and the top paths into capture, as a page a person can
read.

Rendered on the server from the same report objects the API answers with, so the page and the
JSON never disagree; no script, nothing fetched from elsewhere. A key whose only scope is
`reports:read` signs in once through the page's form; the browser then holds a session (see
`dashboard_auth`), never the key. Like the API, the page refuses query parameters it does not
take.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.errors import InboundError
from inbound.leads.stages import STAGES, LifecycleStage
from inbound.pages import PageController, html_page, page_templates
from inbound.reports.assets import AssetQuery
from inbound.reports.dashboard_auth import (
    COOKIE,
    end_session,
    forget_session,
    keep_session,
    key_principal,
    posted_from_here,
    signed_in_reader,
    start_session,
)
from inbound.reports.dashboard_journey import figure, interval, journey_section, persona_choices
from inbound.reports.paths import PathQuery
from inbound.reports.period import InvalidReportParameter, parse_period
from inbound.reports.query import Breakdown, Mode, ReportQuery
from inbound.reports.render import assets_read, funnel_read, paths_read
from inbound.reports.schemas import FunnelGroupRead
from inbound.reports.service import ReportService

TOP_ASSETS = 10
TOP_PATHS = 10
NO_RATE = "n/a"  # a rate over nobody
DEFAULT_DAYS = 365
PARAMETERS = ("from", "to", "tz", "stage", "persona")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CROSS_SITE = "refused: this form was not posted from this dashboard's own page"

_templates = page_templates("inbound.reports")


@dataclass(frozen=True, slots=True)
class Bar:
    stage: str
    count: int
    width: float  # percent of the widest bar
    rate: str | None  # conversion from the stage before, as shown


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # the persona's slug, `TOTAL_KEY` or `NO_PERSONA_KEY`
    label: str
    bars: list[Bar]
    overall: str  # the entry stage to customer


def percent(rate: float | None) -> str:
    """A rate as the page shows it."""
    return NO_RATE if rate is None else f"{rate * 100:.1f}%"


TOTAL_KEY, NO_PERSONA_KEY = "@all", "@none"  # never a slug: `@` is not allowed in one


def chart(group: FunnelGroupRead, key: str | None = None) -> Chart:
    widest = max((stage.count for stage in group.stages), default=0) or 1
    rates = {ratio.to_stage: percent(ratio.rate) for ratio in group.from_previous}
    bars = [
        Bar(
            stage=stage.stage.value,
            count=stage.count,
            width=round(100 * stage.count / widest, 2),
            rate=rates.get(stage.stage),
        )
        for stage in group.stages
    ]
    to_customer = [r for r in group.from_entry if r.to_stage is LifecycleStage.CUSTOMER]
    overall = percent(to_customer[0].rate) if to_customer else NO_RATE
    return Chart(
        key=key or group.key or NO_PERSONA_KEY, label=group.label, bars=bars, overall=overall
    )


class DashboardController(PageController):
    path = "/dashboard"

    @get("/")
    async def page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[str]:
        if await signed_in_reader(request, db_session) is None:
            ended = "your session has ended: sign in again" if _has_session(request) else None
            return _sign_in(request, ended, status=401 if ended else 200)
        chosen = _chosen(request)
        refusal = _unexpected_parameters(request)
        if refusal:
            return _page({"chosen": chosen, "error": refusal}, status=400)
        try:
            reports = await _reports(db_session, chosen)
        except InboundError as error:
            return _page({"chosen": chosen, "error": error.detail}, status=error.status_code)
        context = {
            "chosen": chosen,
            **reports,
            "personas": await persona_choices(db_session),
            "percent": percent,
            "figure": figure,
            "interval": interval,
        }
        return _page(context, status=200)

    @post("/session", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        if not posted_from_here(request):
            return _sign_in(request, CROSS_SITE, status=403, forget=False)
        principal = await key_principal(request, (data.get("key") or "").strip())
        if principal is None:
            return _sign_in(request, "unknown or revoked key", status=401)
        try:
            signed_in = await start_session(db_session, principal)
        except InboundError as error:
            return _sign_in(request, error.detail, status=error.status_code)
        response: Response[Any] = Redirect("/dashboard", status_code=303)
        keep_session(request, response, signed_in)
        return response

    @post("/session/end", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        if not posted_from_here(request):
            return _sign_in(request, CROSS_SITE, status=403, forget=False)
        await end_session(request, db_session)
        response: Response[Any] = Redirect("/dashboard", status_code=303)
        forget_session(request, response)
        return response


def _has_session(request: Request[Any, Any, Any]) -> bool:
    return bool(request.cookies.get(COOKIE))


def _chosen(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The period and stage asked for, or the defaults: the last year, customers."""
    asked = request.query_params
    today = utcnow().date()
    return {
        "from": asked.get("from") or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": asked.get("to") or today.isoformat(),
        "tz": asked.get("tz") or "UTC",
        "stage": asked.get("stage") or LifecycleStage.CUSTOMER.value,
        "persona": asked.get("persona") or "",  # the journey's; empty: every persona
    }


def _unexpected_parameters(request: Request[Any, Any, Any]) -> str | None:
    """Why the query cannot be answered as asked: a misspelt parameter must not be ignored."""
    asked = request.query_params
    unknown = sorted(set(asked) - set(PARAMETERS))
    if unknown:
        return (
            f"unknown query parameter(s): {', '.join(unknown)}; this page takes: "
            f"{', '.join(PARAMETERS)}"
        )
    repeated = [name for name in PARAMETERS if len(asked.getall(name, [])) > 1]
    if repeated:
        return f"query parameter(s) given more than once: {', '.join(repeated)}"
    return None


def _day(chosen: dict[str, str], name: str) -> date:
    """The day a date field of the form holds, written as the date input writes it."""
    text = chosen[name]
    try:
        if not ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidReportParameter(
            f"`{name}` is not a date: write it YYYY-MM-DD", field=name
        ) from None


async def _reports(session: AsyncSession, chosen: dict[str, str]) -> dict[str, Any]:
    """The reports the page shows for its form: the funnel per persona (and its charts), the
    assets (and the top ones), the paths and the journey."""
    from_date, to_date = _day(chosen, "from"), _day(chosen, "to")
    try:
        stage = LifecycleStage(chosen["stage"])
    except ValueError:
        raise InvalidReportParameter(f"no stage {chosen['stage']!r}", field="stage") from None
    period = parse_period(from_date, to_date, chosen["tz"])
    service = ReportService(session)
    query = ReportQuery.over(
        period, mode=Mode.COHORT, entry=LifecycleStage.LEAD, by=Breakdown.PERSONA
    )
    asset_query = AssetQuery(stage=stage, start=period.start, end=period.end)
    path_query = PathQuery(start=period.start, end=period.end, limit=TOP_PATHS)
    funnel = funnel_read(await service.funnel(query), period)
    assets = assets_read(await service.assets(asset_query), period)
    return {
        "funnel": funnel,
        "charts": [chart(funnel.total, TOTAL_KEY), *(chart(group) for group in funnel.groups)],
        "assets": assets,
        "top_assets": assets.assets[:TOP_ASSETS],
        "paths": paths_read(await service.paths(path_query), period),
        "journey": await journey_section(session, period, chosen["persona"]),
    }


def _page(context: dict[str, Any], *, status: int) -> Response[str]:
    stages = [stage.value for stage in STAGES]
    html = _templates.get_template("dashboard.html.j2").render(**context, stages=stages)
    return html_page(html, status=status)


def _sign_in(
    request: Request[Any, Any, Any], error: str | None, *, status: int, forget: bool = True
) -> Response[str]:
    html = _templates.get_template("sign_in.html.j2").render(error=error)
    response = html_page(html, status=status)
    if error and forget:
        forget_session(request, response)
    return response
