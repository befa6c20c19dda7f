"""Report latency at scale: our HTTP answers against the best hand-written SQL, in one run.

Builds (or reuses) a PostgreSQL database with a synthetic history of `--contacts` contacts
(1,000,000 by default, about three stage changes each), starts the service on it, and times
each report through HTTP, then the SQL a person would write by hand for the same numbers, run
directly with asyncpg on one connection (prepared, so only execution counts). It checks that
both give the same numbers and prints the ratio of the medians (target: at most 1.5), and the
cohort funnel by persona for a year against its own target of 300 ms.

Usage: .venv/bin/python bench/reports.py [--contacts 1000000] [--runs 20] [--reuse]
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).parent))

from capture import plain_engine, recreate_database, run_sql, serving
from http_load import Connection, Target

from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import create_sessionmaker
from inbound.demo import load_history

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_reports"
RATIO_TARGET = 1.5
EAGERNESS = 4.5
FUNNEL_TARGET_MS = 300.0
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


# -- timing --------------------------------------------------------------------------------------


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


def p95_ms(seconds: Sequence[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = await call()
    return time.perf_counter() - began, result


async def measure(
    case: Case, base: str, key: str, dsn: str, period: Period, runs: int, warmup: int
) -> dict[str, Any]:
    url = f"{base}{case.path}?{urlencode(case.params)}"
    connection = Connection(Target(url, {"Authorization": f"Bearer {key}"}))
    request = connection.target.get()

    async def over_http() -> dict[str, Any]:
        answer = await connection.send(request)
        if answer.status != 200:
            raise RuntimeError(f"{case.name}: {answer.status} {answer.body[:300]!r}")
        body: dict[str, Any] = json.loads(answer.body)
        return body

    database = await asyncpg.connect(dsn)
    try:
        for setting in case.settings:
            await database.execute(setting)
        prepared = [await database.prepare(sql) for sql in case.sql]
        arguments = case.arguments(period)

        async def by_hand() -> list[list[asyncpg.Record]]:
            return [await statement.fetch(*arguments) for statement in prepared]

        # Alternate, so that both meet the same machine and the same cache.
        ours: list[float] = []
        theirs: list[float] = []
        body: Any = None
        rows: Any = None
        for _ in range(warmup):
            body, rows = await over_http(), await by_hand()
        for _ in range(runs):
            spent, body = await timed(over_http)
            ours.append(spent)
            spent, rows = await timed(by_hand)
            theirs.append(spent)
    finally:
        await database.close()
        connection.close()
    same = case.from_json(body) == case.from_rows(rows)
    return {
        "name": case.name,
        "ours_median_ms": median_ms(ours),
        "ours_p95_ms": p95_ms(ours),
        "sql_median_ms": median_ms(theirs),
        "ratio": median_ms(ours) / median_ms(theirs),
        "same_numbers": same,
        "ours_numbers": case.from_json(body),
        "sql_numbers": case.from_rows(rows),
    }


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


# -- the data ------------------------------------------------------------------------------------


async def contact_count(url: str) -> int | None:
    try:
        [count] = await run_sql(url, "SELECT count(*) FROM contacts")
    except Exception:  # no such database or table yet
        return None
    return int(count)


async def build(url: str, contacts: int, now: datetime) -> float:
    """A fresh database holding the synthetic history; the seconds the load took."""
    await recreate_database(make_url(url))
    await asyncio.to_thread(migrate.upgrade, url)
    began = time.perf_counter()
    engine = plain_engine(url)
    try:
        # Eager conversion: about three stage changes per contact, as the target data set has.
        await load_history(engine, contacts=contacts, now=now, eagerness=EAGERNESS)
    finally:
        await engine.dispose()
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)
    return time.perf_counter() - began


async def reports_key(url: str) -> str:
    engine = plain_engine(url)
    async with create_sessionmaker(engine)() as session, session.begin():
        _, plain = await ApiKeyService(session).issue(name="bench", scopes=[Scope.REPORTS_READ])
    await engine.dispose()
    return plain


# -- the run -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="dropped and recreated unless --reuse finds it filled",
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per report and side")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database when it already holds --contacts contacts",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    url = args.database_url
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if args.reuse and await contact_count(url) == args.contacts:
        print(f"reusing {url}: {args.contacts:,} contacts")
        load_seconds = None
    else:
        print(f"building {args.contacts:,} contacts in {url} ...", flush=True)
        load_seconds = await build(url, args.contacts, now)
        print(f"built in {load_seconds:.0f} s")
    counts = dict(
        zip(
            ("contacts", "captures", "stage_changes"),
            await run_sql(
                url,
                *(f"SELECT count(*) FROM {t}" for t in ("contacts", "captures", "stage_changes")),
            ),
            strict=True,
        )
    )
    print(", ".join(f"{name} {count:,}" for name, count in counts.items()))
    key = await reports_key(url)
    last = now.date() - timedelta(days=1)
    period = Period(last - timedelta(days=364), last)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    results = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serving(url, 1, Path(tmp) / "serve.log") as (base, _),
    ):
        for case in cases(period):
            result = await measure(case, base, key, dsn, period, args.runs, args.warmup)
            results.append(result)
    print(f"\nperiod {period.first} to {period.last}; {args.runs} runs each, medians in ms")
    print(f"{'report':<32} {'ours':>8} {'p95':>8} {'by hand':>8} {'ratio':>6}  same numbers")
    for r in results:
        print(
            f"{r['name']:<32} {r['ours_median_ms']:8.1f} {r['ours_p95_ms']:8.1f} "
            f"{r['sql_median_ms']:8.1f} {r['ratio']:6.2f}  {'yes' if r['same_numbers'] else 'NO'}"
        )
    failed = False
    for r in results:
        if not r["same_numbers"]:
            failed = True
            print(f"  {r['name']}: ours {r['ours_numbers']}\n  by hand {r['sql_numbers']}")
    worst = max(r["ratio"] for r in results)
    funnel_ms = results[0]["ours_median_ms"]
    print(
        f"\nworst ratio {worst:.2f} (target <= {RATIO_TARGET}: "
        f"{'met' if worst <= RATIO_TARGET else 'MISSED'}); cohort funnel by persona "
        f"{funnel_ms:.0f} ms (target < {FUNNEL_TARGET_MS:.0f}: "
        f"{'met' if funnel_ms < FUNNEL_TARGET_MS else 'MISSED'})"
    )
    if args.json:
        figures = {
            "counts": counts,
            "load_seconds": load_seconds,
            "results": [
                {k: v for k, v in r.items() if not k.endswith("_numbers")} for r in results
            ],
        }
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
