"""The journey report at scale: our HTTP answer against the best hand-written SQL, in one run.

Builds (or reuses) a PostgreSQL database with the demo history of `--contacts` contacts
(1,000,000 by default, converting as eagerly as in `bench/reports.py`), then `--answers`
survey answers (2,000,000) from those contacts: each answers at random times between entering
the funnel and now, on one of 30 surveys (10 touchpoints, each with an NPS, a CES on 1-5 or
1-7 and a CSAT survey), and the answer records the stage the contact stood at then and its
persona, as the service does. Starts the service and times
`GET /api/v1/reports/journey` over the last year through HTTP (everyone, one persona, period
mode, a 30-day window), then the SQL a person would write by hand for the same numbers (the
stage counts over `contacts`, the answers per metric, stage, scale and score over
`survey_answers`), prepared on one asyncpg connection, the two alternating. Before measuring,
it rolls the days that are due into the day tables, as the worker does, and prints how long
that took. It checks that both give the same counts and answers per stage, and prints the
medians, the p95s and their ratio. The bar: under 300 ms.

Usage: .venv/bin/python bench/journey.py [--contacts 1000000] [--answers 2000000] [--reuse]
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from database import dsn_of, fetch, fresh_schema, issue_key, midnight_utc, plain_engine, run_sql
from options import REUSED, add_json, add_runs, bench_parser
from reports import EAGERNESS
from service import serving
from side_by_side import JsonGetter, alternate, print_differences, without_numbers
from sqlalchemy import func, insert, select
from survey_data import SURVEY_ARRAYS, add_surveys

from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.db import create_sessionmaker
from inbound.demo import load_history
from inbound.reports.daily.roll import roll_report_days
from inbound.reports.daily.tables import REPORT_DAY_CHANGES, REPORT_DAYS

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_journey"
TARGET_MS = 300.0
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")

# Where the contact stood at the answer's time: the latest stage it had reached by then.
STAGE_AT = (
    "CASE "
    + " ".join(f"WHEN c.{stage}_at <= d.at THEN '{stage}'" for stage in reversed(STAGES))
    + " END"
)

# Every contact answers `copies` times, until `$2` answers; inserted in time order.
FILL = f"""
WITH {SURVEY_ARRAYS}, d AS (
  SELECT c.id, 1 + floor(random() * s.n)::int AS k, random() AS how,
         c.subscriber_at + random() * ($1::timestamptz - c.subscriber_at) AS at
  FROM contacts c CROSS JOIN generate_series(1, $3::int) CROSS JOIN s
  WHERE c.subscriber_at IS NOT NULL
  LIMIT $2
)
INSERT INTO survey_answers (id, survey_id, touchpoint_id, metric, score, scale_min, scale_max,
                            contact_id, persona_id, stage, source, answered_at)
SELECT gen_random_uuid(), s.ids[k], s.places[k], s.metrics[k],
       s.mins[k] + floor(how * (s.maxs[k] - s.mins[k] + 1))::int, s.mins[k], s.maxs[k],
       c.id, c.persona_id, {STAGE_AT}, 'link', d.at
FROM d JOIN contacts c ON c.id = d.id CROSS JOIN s ORDER BY d.at
"""

# -- the hand-written SQL ------------------------------------------------------------------------

COHORT_COUNTS = (
    "SELECT "
    + ", ".join(f"count(*) FILTER (WHERE {s}_at <= $3)" for s in STAGES)
    + " FROM contacts WHERE subscriber_at >= $1 AND subscriber_at < $2"
)
WINDOW_DAYS = 30
WINDOW_COUNTS = (
    "SELECT "
    + ", ".join(f"count(*) FILTER (WHERE {s}_at <= $3 AND {s}_at <= subscriber_at"
                f" + make_interval(hours => {24 * WINDOW_DAYS}))" for s in STAGES)
    + " FROM contacts WHERE subscriber_at >= $1 AND subscriber_at < $2"
)  # fmt: skip
PERIOD_COUNTS = "SELECT " + ", ".join(
    f"(SELECT count(*) FROM contacts WHERE {s}_at >= $1 AND {s}_at < $2)" for s in STAGES
)
ANSWERS = """
SELECT metric, stage, scale_max, score, count(*) FROM survey_answers
WHERE metric IN ('nps', 'ces', 'csat') AND answered_at >= $1 AND answered_at < $2
  AND stage IS NOT NULL
GROUP BY 1, 2, 3, 4
"""


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, str]
    counts_sql: str
    answers_sql: str
    cohort: bool
    persona: bool


def cases(persona_slug: str) -> list[Case]:
    by_persona = ANSWERS.replace("IS NOT NULL", "IS NOT NULL AND persona_id = $3")
    return [
        Case("journey, cohort, everyone", {}, COHORT_COUNTS, ANSWERS, True, False),
        Case("journey, cohort, one persona", {"persona": persona_slug},
             COHORT_COUNTS + " AND persona_id = $4", by_persona, True, True),
        Case("journey, period mode", {"mode": "period"}, PERIOD_COUNTS, ANSWERS, False, False),
        Case(f"journey, {WINDOW_DAYS}-day window", {"window_days": str(WINDOW_DAYS)},
             WINDOW_COUNTS, ANSWERS, True, False),
    ]  # fmt: skip


def from_json(body: dict[str, Any]) -> Any:
    counts = [s["count"] for s in body["stages"]]
    answers = {(s["stage"], metric): n for s in body["stages"] for metric, n in (
        ("nps", s["nps"]["n"]), ("csat", s["csat"]["n"]),
        *((f"ces{e['scale_max']}", e["figures"]["n"]) for e in s["ces"]),
    ) if n}  # fmt: skip
    return counts, answers


def from_rows(counts: list[asyncpg.Record], answers: list[asyncpg.Record]) -> Any:
    per: Counter[tuple[str, str]] = Counter()
    for metric, stage, scale_max, _score, n in answers:
        per[(stage, f"ces{scale_max}" if metric == "ces" else metric)] += n
    return list(counts[0]), dict(per)


async def measure(
    case: Case, base: str, key: str, dsn: str, first: date, last: date, persona_id: Any,
    runs: int, warmup: int,
) -> dict[str, Any]:  # fmt: skip
    params = {"from": first.isoformat(), "to": last.isoformat(), **case.params}
    over_http = JsonGetter(base, "/api/v1/reports/journey", params, key, case.name)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    as_of = datetime.now(UTC)
    counts_args: list[Any] = [start, end, as_of] if case.cohort else [start, end]
    answers_args: list[Any] = [start, end]
    if case.persona:
        counts_args.append(persona_id)
        answers_args.append(persona_id)
    database = await asyncpg.connect(dsn)
    try:
        counting = await database.prepare(case.counts_sql)
        answering = await database.prepare(case.answers_sql)

        async def by_hand() -> Any:
            return await counting.fetch(*counts_args), await answering.fetch(*answers_args)

        found = await alternate(over_http, by_hand, runs, warmup)
    finally:
        await database.close()
        over_http.close()
    ours, theirs = from_json(found.body), from_rows(*found.rows)
    return {
        "name": case.name,
        "answers": sum(ours[1].values()),
        **found.figures(sql_p95=True),
        "same_numbers": ours == theirs,
        "ours_numbers": ours,
        "sql_numbers": theirs,
    }


# -- the data ------------------------------------------------------------------------------------


async def counts(url: str) -> tuple[int, int] | None:
    try:
        contacts, answers = await run_sql(
            url, "SELECT count(*) FROM contacts", "SELECT count(*) FROM survey_answers"
        )
    except Exception:  # no such database or table yet
        return None
    return int(contacts), int(answers)


async def build(url: str, contacts: int, answers: int, now: datetime) -> None:
    """A fresh database: the demo history, the surveys, and the answers of its contacts."""
    await fresh_schema(url)
    engine = plain_engine(url)
    try:
        await load_history(engine, contacts=contacts, now=now, eagerness=EAGERNESS)
        async with create_sessionmaker(engine)() as session, session.begin():
            await add_surveys(session)
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(dsn_of(url))
    try:
        copies = -(-answers // contacts)
        await connection.execute(FILL, now, answers, copies)
    finally:
        await connection.close()
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)


async def roll_days(url: str) -> None:
    """Roll every day that is due, as the worker does, then one day changed since."""
    engine = plain_engine(url)
    try:
        began = time.perf_counter()
        rolled = await roll_report_days(engine)
        print(f"rolled {rolled:,} days into the day tables in {time.perf_counter() - began:.1f} s")
        async with engine.begin() as connection:
            latest = (await connection.execute(select(func.max(REPORT_DAYS.c.day)))).scalar()
            if latest is not None:
                await connection.execute(insert(REPORT_DAY_CHANGES).values(day=latest))
        began = time.perf_counter()
        rolled = await roll_report_days(engine)
        print(f"rolled {rolled} changed day again in {1000 * (time.perf_counter() - began):.0f} ms")
    finally:
        await engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, REUSED)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--answers", type=int, default=2_000_000)
    add_runs(parser, "timed runs per case and side")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database if it holds --contacts and --answers")  # fmt: skip
    parser.add_argument("--build-only", action="store_true",
                        help="build the data set and stop (then --reuse)")  # fmt: skip
    add_json(parser)
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    url = args.database_url
    now = midnight_utc()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.reuse and await counts(url) == (args.contacts, args.answers):
        print(f"reusing {url}: {args.contacts:,} contacts, {args.answers:,} answers")
    else:
        print(f"building {args.contacts:,} contacts and {args.answers:,} answers in {url} ...",
              flush=True)  # fmt: skip
        began = time.perf_counter()
        await build(url, args.contacts, args.answers, now)
        print(f"built in {time.perf_counter() - began:.0f} s")
    await asyncio.to_thread(migrate.upgrade, url)  # a reused database may predate the day tables
    await roll_days(url)
    if args.build_only:
        return 0
    key = await issue_key(url, Scope.REPORTS_READ)
    dsn = dsn_of(url)
    [persona] = await fetch(
        url,
        "SELECT p.id, p.slug FROM personas p JOIN contacts c ON c.persona_id = p.id "
        "GROUP BY p.id, p.slug ORDER BY count(*) DESC LIMIT 1",
    )
    last = now.date() - timedelta(days=1)
    first = last - timedelta(days=364)
    results = []
    with tempfile.TemporaryDirectory() as tmp, serving(url, 1, Path(tmp) / "serve.log") as (
        base, _,
    ):  # fmt: skip
        for case in cases(persona["slug"]):
            results.append(await measure(case, base, key, dsn, first, last, persona["id"],
                                         args.runs, args.warmup))  # fmt: skip
    print(f"\nperiod {first} to {last}; persona {persona['slug']}; {args.runs} runs each, ms")
    print(f"{'case':<30} {'answers':>9} {'ours p50':>9} {'p95':>7} {'SQL p50':>8} {'p95':>7} "
          f"{'ratio':>6}  same numbers")  # fmt: skip
    for r in results:
        print(f"{r['name']:<30} {r['answers']:>9,} {r['ours_median_ms']:9.1f} "
              f"{r['ours_p95_ms']:7.1f} {r['sql_median_ms']:8.1f} {r['sql_p95_ms']:7.1f} "
              f"{r['ratio']:6.2f}  {'yes' if r['same_numbers'] else 'NO'}")  # fmt: skip
    failed = print_differences(results)
    slowest = max(r["ours_median_ms"] for r in results)
    print(f"\nslowest journey report {slowest:.0f} ms (target < {TARGET_MS:.0f}: "
          f"{'met' if slowest < TARGET_MS else 'MISSED'}); load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(
            [without_numbers(r) for r in results],
            indent=2,
        ))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
