"""What every `/api/v1/reports` endpoint shares: its guard, the period it is asked for, and the
answer as JSON or, when asked, as CSV.

Dependencies here only gather what was asked and never raise: Litestar cleans up the request's
session only once every dependency is resolved, so a refusal raised in one would leave the
session to be closed later by the garbage collector, on a connection in use again. The
handlers check what was asked (`AskedPeriod.checked`), and a refusal there is a 400.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import Provide
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.contract import document_media_type
from inbound.errors import problems
from inbound.personas.service import filtered_persona_id
from inbound.reports.period import InvalidReportParameter, Period, parse_period
from inbound.schemas import NO_NUL
from inbound.sites.service import SiteNotFound, SiteService

CSV = "text/csv"
ANSWERS_CSV = "`format=csv` or `Accept: text/csv` answers CSV."
PERIOD = (
    "The period runs from the start of `from` to the end of `to` in `tz` (an IANA time zone "
    "name) and spans at most 5 calendar years: `to` comes before the same day 5 years after "
    "`from` (1 March for 29 February), inside the years 1 to 9999 in UTC, the day after `to` "
    "included (so `to` is at most 9999-12-30). "
)

Ref = Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)]
FromDate = Annotated[date, QueryParameter(name="from", description="First day.")]
ToDate = Annotated[date, QueryParameter(name="to", description="Last day, included.")]
TimeZone = Annotated[str, QueryParameter(max_length=64, description="IANA time zone.")]
Format = Annotated[Literal["json", "csv"] | None, QueryParameter()]


@dataclass(frozen=True, slots=True)
class AskedPeriod:
    """The days a report is asked for, as given: `checked` turns them into a `Period`."""

    from_date: date
    to_date: date
    tz: str

    def checked(self) -> Period:
        """The period, or a 400 naming the parameter that cannot be answered."""
        return parse_period(self.from_date, self.to_date, self.tz)


def provide_period(from_date: FromDate, to_date: ToDate, tz: TimeZone = "UTC") -> AskedPeriod:
    return AskedPeriod(from_date, to_date, tz)


@dataclass(frozen=True, slots=True)
class Narrowing:
    """The persona (id or slug) and the site (first touch) a report's contacts are narrowed
    to, as asked."""

    persona: str | None
    site: uuid.UUID | None

    async def ids(self, session: AsyncSession) -> dict[str, uuid.UUID | None]:
        """`persona_id` and `site_id`: naming one that does not exist is a 400, not zeros."""
        persona_id = await filtered_persona_id(session, self.persona, field="persona")
        if self.site is None:
            return {"persona_id": persona_id, "site_id": None}
        try:
            site_id = (await SiteService(session).get(self.site)).id
        except SiteNotFound:
            raise InvalidReportParameter(f"no site {self.site}", field="site") from None
        return {"persona_id": persona_id, "site_id": site_id}


def provide_narrowing(persona: Ref = None, site: FromQuery[uuid.UUID | None] = None) -> Narrowing:
    return Narrowing(persona, site)


@dataclass(frozen=True, slots=True)
class Answer:
    """The form a report is asked in: CSV with `format=csv`, or `Accept: text/csv` and no
    `format`; JSON otherwise."""

    csv: bool

    def __call__(self, body: Any, to_csv: Callable[[Any], str]) -> Response[Any]:
        if self.csv:
            return Response(to_csv(body), media_type=CSV)
        return Response(body, media_type=MediaType.JSON)


def provide_answer(request: Request[Any, Any, Any], format: Format = None) -> Answer:
    return Answer(
        format == "csv" or (format is None and CSV in (request.headers.get("accept") or ""))
    )


class ReportsController(Controller):
    """A controller of report endpoints: `reports:read`, and `period`, `narrowing` and `answer`
    to depend on."""

    path = "/reports"
    tags = ["reports"]
    guards = [requires(Scope.REPORTS_READ)]
    dependencies = {
        "period": Provide(provide_period, sync_to_thread=False),
        "narrowing": Provide(provide_narrowing, sync_to_thread=False),
        "answer": Provide(provide_answer, sync_to_thread=False),
    }


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
