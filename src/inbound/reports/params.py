"""The query parameters the reports take: the period, references by id or slug, and the
answer's format."""

from datetime import date
from typing import Annotated, Literal

from litestar.params import QueryParameter

from inbound.schemas import NO_NUL

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
