"""A report's period: the calendar days asked for in a time zone, as UTC instants.

A period spans at most 5 calendar years: `to` comes before the same day 5 years after `from`
(29 February's anniversary in a common year is 1 March). Its instants must also fit in the
timestamps Python and the databases share (years 1 to 9999 in UTC).
"""

from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from inbound.errors import BadRequest

MAX_YEARS = 5


class InvalidReportParameter(BadRequest, problem="validation"): ...


@dataclass(frozen=True, slots=True)
class Period:
    """The days a report covers, as asked, and as UTC instants."""

    from_date: date
    to_date: date
    time_zone: str
    start: datetime
    end: datetime  # exclusive


@cache
def _zone_names() -> frozenset[str]:
    # The names the zone database lists, not any path ZoneInfo would try to open: a directory
    # such as `Europe`, or a name longer than a file name may be, fails there as an OSError.
    # `localtime` is the server's own setting where the system lists it, and `Factory` a
    # placeholder that names no place: neither is a zone a report can be read in.
    return frozenset(available_timezones()) - {"localtime", "Factory"}


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; any other text is a 400 naming `tz`."""
    if name not in _zone_names():
        shown = name if len(name) <= 64 else f"{name[:64]}..."
        raise InvalidReportParameter(f"unknown time zone {shown!r}", field="tz")
    return ZoneInfo(name)


def years_after(day: date, years: int) -> date | None:
    """The same day ``years`` later (1 March for 29 February in a common year); None past 9999."""
    if day.year + years > MAXYEAR:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def parse_period(from_date: date, to_date: date, tz: str) -> Period:
    """The period from the start of ``from_date`` to the end of ``to_date`` in ``tz``."""
    zone = time_zone(tz)
    if to_date < from_date:
        raise InvalidReportParameter("`to` comes before `from`", field="to")
    limit = years_after(from_date, MAX_YEARS)
    if limit is not None and to_date >= limit:
        raise InvalidReportParameter(
            f"the period spans more than {MAX_YEARS} calendar years: `to` must come before "
            f"{limit.isoformat()}",
            field="to",
        )
    start = utc_midnight(from_date, zone, field="from")
    end = utc_midnight(to_date, zone, field="to", next_day=True)
    return Period(from_date, to_date, tz, start, end)


def utc_midnight(day: date, zone: ZoneInfo, *, field: str, next_day: bool = False) -> datetime:
    """The instant ``day`` (or the day after it) begins in ``zone``, in UTC."""
    try:
        if next_day:
            day += timedelta(days=1)
        return datetime.combine(day, time(), zone).astimezone(UTC)
    except OverflowError:
        raise InvalidReportParameter(
            f"`{field}` {'ends after' if next_day else 'begins before'} the range of times "
            "reports count (the years 1 to 9999 in UTC)",
            field=field,
        ) from None
