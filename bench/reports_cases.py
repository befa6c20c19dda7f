"""The reports the report bench times: each one's request, the SQL a person would write by
hand for the same numbers, and how to read the numbers from both."""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import asyncpg

STAGES = ("lead", "mql", "sql", "opportunity", "customer", "evangelist")
PAIRS = [*pairwise(STAGES), *(("lead", later) for later in STAGES[2:])]


@dataclass(frozen=True)
class Case:
    """One report: its HTTP request, the hand-written SQL for its numbers, and both readings."""

    name: str
    path: str
    params: Mapping[str, str]
    sql: Sequence[str]  # run one after the other, each with the same arguments
    settings: Sequence[str]  # what the service sets in its transaction, set for the SQL too
    arguments: Callable[["Period"], Sequence[Any]]
    # The numbers to compare: from the JSON answer, and from the hand-written SQL's rows.
    from_json: Callable[[dict[str, Any]], Any]
    from_rows: Callable[[list[list[asyncpg.Record]]], Any]


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=(self.last - self.first).days + 1)


# -- the hand-written SQL ------------------------------------------------------------------------

COHORT_FUNNEL_BY_PERSONA = f"""
SELECT persona_id, {", ".join(f"count(*) FILTER (WHERE {s}_at <= $3)" for s in STAGES)}
FROM contacts WHERE lead_at >= $1 AND lead_at < $2 GROUP BY persona_id
"""

PERIOD_FUNNEL = "SELECT " + ", ".join(
    f"(SELECT count(*) FROM contacts WHERE {s}_at >= $1 AND {s}_at < $2)" for s in STAGES
)

VELOCITY_BY_PERSONA = f"""
SELECT grouping(persona_id), persona_id, {
    ", ".join(
        f"count({b}_at) FILTER (WHERE {b}_at <= $3), "
        f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM "
        f"{b}_at - {a}_at)) FILTER (WHERE {b}_at <= $3)"
        for a, b in PAIRS
    )
}
FROM contacts WHERE lead_at >= $1 AND lead_at < $2 GROUP BY GROUPING SETS ((persona_id), ())
"""

ASSET_CAPTURES = """
SELECT asset_id, count(*) FROM captures WHERE created_at >= $1 AND created_at < $2
GROUP BY asset_id
"""
ASSET_NEW_CONTACTS = """
SELECT first_asset_id, count(*) FROM contacts WHERE created_at >= $1 AND created_at < $2
GROUP BY first_asset_id
"""
ASSET_CONVERSIONS = """
SELECT count(*) FROM contacts WHERE customer_at >= $1 AND customer_at < $2
"""
ASSET_CREDITS = """
WITH touches AS (
  SELECT c.asset_id,
         row_number() OVER (PARTITION BY c.contact_id ORDER BY c.created_at, c.id) AS first,
         row_number() OVER (PARTITION BY c.contact_id ORDER BY c.created_at DESC, c.id DESC)
           AS last,
         count(*) OVER (PARTITION BY c.contact_id) AS touches
  FROM contacts k JOIN captures c ON c.contact_id = k.id AND c.created_at <= k.customer_at
  WHERE k.customer_at >= $1 AND k.customer_at < $2
)
SELECT asset_id, count(*) FILTER (WHERE first = 1), count(*) FILTER (WHERE last = 1),
       sum(1.0 / touches)
FROM touches GROUP BY asset_id
"""


# Each pair of readers gives the same shape from the JSON answer and from the SQL's rows.


def funnel_from_json(body: dict[str, Any]) -> Any:
    groups = [[s["count"] for s in g["stages"]] for g in body["groups"]]
    return {
        "total": [s["count"] for s in body["total"]["stages"]],
        "groups": sorted(g for g in groups if any(g)),
    }


def funnel_from_rows(results: list[list[asyncpg.Record]]) -> Any:
    groups = [list(row)[1:] for row in results[0]]
    return {
        "total": [sum(column) for column in zip(*groups, strict=True)],
        "groups": sorted(g for g in groups if any(g)),
    }


def period_from_json(body: dict[str, Any]) -> Any:
    return [s["count"] for s in body["total"]["stages"]]


def period_from_rows(results: list[list[asyncpg.Record]]) -> Any:
    return list(results[0][0])


def velocity_from_json(body: dict[str, Any]) -> Any:
    total = body["total"]
    return [
        (s["contacts"], s["median_seconds"], s["p90_seconds"])
        for s in [*total["from_previous"], *total["from_entry"][1:]]
    ]


def velocity_from_rows(results: list[list[asyncpg.Record]]) -> Any:
    [total] = [row for row in results[0] if row[0]]
    figures = list(total)[2:]
    spans = []
    for count, percentiles in zip(figures[::2], figures[1::2], strict=True):
        median, p90 = percentiles or (None, None)
        spans.append((count, _round(median), _round(p90)))
    return spans


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def assets_from_json(body: dict[str, Any]) -> Any:
    figures = [
        (a["captures"], a["new_contacts"], a["first_touch"], a["last_touch"], round(a["linear"], 2))
        for a in body["assets"]
    ]
    return {"assets": sorted(f for f in figures if any(f)),
            "converted": body["converted"] + body["unattributed"]}  # fmt: skip


def assets_from_rows(results: list[list[asyncpg.Record]]) -> Any:
    captures, new_contacts, credits, [conversions] = results
    figures: dict[Any, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    for asset_id, count in captures:
        figures[asset_id][0] = count
    for asset_id, count in new_contacts:
        figures[asset_id][1] = count
    for asset_id, first, last, linear in credits:
        figures[asset_id][2:] = [first, last, float(linear)]
    assets = sorted((c, n, f, la, round(li, 2)) for c, n, f, la, li in figures.values())
    return {"assets": assets, "converted": conversions[0]}


def cases(period: Period) -> list[Case]:
    year = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    as_of = datetime.now(UTC) + timedelta(days=1)  # after every stage time the data holds

    def cohort(p: Period) -> tuple[Any, ...]:
        return (p.start, p.end, as_of)

    def window(p: Period) -> tuple[Any, ...]:
        return (p.start, p.end)

    in_memory = ["SET work_mem = '64MB'"]
    return [
        Case(name="funnel, cohort, by persona", path="/api/v1/reports/funnel",
             params={**year, "by": "persona"}, sql=[COHORT_FUNNEL_BY_PERSONA], settings=[],
             arguments=cohort, from_json=funnel_from_json, from_rows=funnel_from_rows),
        Case(name="funnel, period mode", path="/api/v1/reports/funnel",
             params={**year, "mode": "period"}, sql=[PERIOD_FUNNEL], settings=[],
             arguments=window, from_json=period_from_json, from_rows=period_from_rows),
        Case(name="velocity, cohort, by persona", path="/api/v1/reports/velocity",
             params={**year, "by": "persona"}, sql=[VELOCITY_BY_PERSONA],
             settings=[*in_memory, "SET enable_indexscan = off"], arguments=cohort,
             from_json=velocity_from_json, from_rows=velocity_from_rows),
        Case(name="assets, customer", path="/api/v1/reports/assets",
             params={**year, "stage": "customer"},
             sql=[ASSET_CAPTURES, ASSET_NEW_CONTACTS, ASSET_CREDITS, ASSET_CONVERSIONS],
             settings=in_memory,
             arguments=window, from_json=assets_from_json, from_rows=assets_from_rows),
    ]  # fmt: skip
