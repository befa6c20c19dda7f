"""What every `/api/v1/reports` endpoint shares: its guard, its documented refusals, the
contacts it is narrowed to, and the answer as JSON or, when asked, as CSV.

Each handler declares its query parameters itself (their types are in `params`; the funnel's
and velocity's in their one dependency), so that all of them are validated together and a 400
names every one that is wrong; none is checked in a dependency that uses the session (see
`controller`).
"""

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.contract import document_media_type
from inbound.errors import problems
from inbound.personas.service import filtered_persona_id
from inbound.reports.period import InvalidReportParameter
from inbound.sites.service import SiteNotFound, SiteService

CSV = "text/csv"
ANSWERS_CSV = "`format=csv` or `Accept: text/csv` answers CSV."


async def narrowed_ids(
    session: AsyncSession, persona: str | None, site: uuid.UUID | None
) -> dict[str, uuid.UUID | None]:
    """`persona_id` and `site_id` of the persona (id or slug) and the site (first touch) a
    report's contacts are narrowed to: naming one that does not exist is a 400, not zeros."""
    persona_id = await filtered_persona_id(session, persona, field="persona")
    if site is None:
        return {"persona_id": persona_id, "site_id": None}
    try:
        site_id = (await SiteService(session).get(site)).id
    except SiteNotFound:
        raise InvalidReportParameter(f"no site {site}", field="site") from None
    return {"persona_id": persona_id, "site_id": site_id}


def answer_as_asked(
    request: Request[Any, Any, Any], format: str | None, body: Any, to_csv: Callable[[Any], str]
) -> Response[Any]:
    """CSV with `format=csv`, or `Accept: text/csv` and no `format`; JSON otherwise."""
    wants_csv = format == "csv" or (format is None and CSV in (request.headers.get("accept") or ""))
    if wants_csv:
        return Response(to_csv(body), media_type=CSV)
    return Response(body, media_type=MediaType.JSON)


class ReportsController(Controller):
    """A controller of report endpoints: every one needs `reports:read`."""

    path = "/reports"
    tags = ["reports"]
    guards = [requires(Scope.REPORTS_READ)]


def report_get(
    path: str,
    *,
    operation_id: str,
    summary: str,
    description: str,
    csv: str = "the same report as CSV",
    dependencies: Mapping[str, Provide] | None = None,
) -> get:
    """A report's GET, its refusals and its CSV answer documented; ``csv`` says what a row is."""
    document_media_type(
        operation_id,
        CSV,
        f"With `format=csv` or `Accept: text/csv`: {csv}, a header line naming the columns.",
    )
    return get(  # the refusals of a report: a question it cannot answer, or no `reports:read`
        path,
        operation_id=operation_id,
        summary=summary,
        description=description + ANSWERS_CSV,
        dependencies=dependencies,
        responses=problems(400, 401, 403),
    )
