"""The survey report at scale: our HTTP answer against its own counting SQL, in one run.

Builds (or reuses) a PostgreSQL database with `--answers` survey answers (2,000,000 by
default) over a year: 10 touchpoints, each with an NPS, a CES (1-5 at even ones, 1-7 at odd
ones) and a CSAT survey, 5 personas and the 7 lifecycle stages (a tenth of the answers without
a persona, an eighth without a stage). Starts the service and times, for each metric,
`GET /api/v1/reports/surveys?by=touchpoint&trend=month` over the year through HTTP, then the
service's own counting statement (compiled for asyncpg exactly as the service sends it) run
directly with asyncpg on one connection, prepared, alternating. It checks that both count the
same answers per touchpoint and month, and prints the medians and their ratio. The bar: the
report under 300 ms.

Usage: .venv/bin/python bench/survey_report.py [--answers 2000000] [--runs 20] [--reuse]
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from database import count_or_none, dsn_of, fetch, fresh_schema, issue_key, plain_engine, run_sql
from options import REUSED, add_json, add_runs, bench_parser
from service import serving
from side_by_side import JsonGetter, alternate
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from survey_data import SURVEY_ARRAYS, add_surveys

from inbound.auth.scopes import Scope
from inbound.db import create_sessionmaker
from inbound.lean_sql import LeanStatement
from inbound.personas.models import Persona
from inbound.reports.period import parse_period
from inbound.reports.survey_query import (
    SurveyBreakdown,
    SurveyQuery,
    Trend,
    counting_statement,
    trend_buckets,
)
from inbound.surveys.models import Metric

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_surveys"
TARGET_MS = 300.0
PERSONAS = 5
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")

# Every answer of a year, in time order (as they arrive), spread over the 30 surveys.
FILL = f"""
WITH {SURVEY_ARRAYS}, p AS (SELECT array_agg(id ORDER BY slug) AS ids FROM personas),
drawn AS (
  SELECT 1 + floor(random() * s.n)::int AS k, random() AS who, random() AS how,
         1 + floor(random() * 8)::int AS stage, $1::timestamptz + random() * interval '365 days'
         AS at
  FROM generate_series(1, $2::int), s
)
INSERT INTO survey_answers (id, survey_id, touchpoint_id, metric, score, scale_min, scale_max,
                            persona_id, stage, source, answered_at)
SELECT gen_random_uuid(), s.ids[k], s.places[k], s.metrics[k],
       s.mins[k] + floor(how * (s.maxs[k] - s.mins[k] + 1))::int, s.mins[k], s.maxs[k],
       CASE WHEN who < 0.9 THEN p.ids[1 + floor(who / 0.9 * {PERSONAS})::int] END,
       (ARRAY{list(STAGES)})[stage], 'public', at
FROM drawn, s, p ORDER BY at
"""


async def answer_count(url: str) -> int | None:
    return await count_or_none(url, "SELECT count(*) FROM survey_answers")


async def build(url: str, answers: int, start: datetime) -> None:
    """A fresh database with the touchpoints, surveys, personas and answers."""
    await fresh_schema(url)
    engine = plain_engine(url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for i in range(PERSONAS):
            session.add(Persona(slug=f"persona-{i}", name=f"Persona {i}"))
        await add_surveys(session)
    await engine.dispose()
    connection = await asyncpg.connect(dsn_of(url))
    try:
        await connection.execute(FILL, start, answers)
    finally:
        await connection.close()
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)


def counting_sql(metric: Metric, first: date, last: date) -> tuple[str, list[Any]]:
    """The service's counting statement for the report, as asyncpg receives it."""
    period = parse_period(first, last, "UTC")
    query = SurveyQuery(
        metric=metric, start=period.start, end=period.end, by=SurveyBreakdown.TOUCHPOINT,
        buckets=trend_buckets(period, Trend.MONTH),
    )  # fmt: skip
    compiled = LeanStatement(counting_statement(query, "postgresql")).compiled(asyncpg_dialect())
    return compiled.sql, compiled.arguments({})


async def measure(
    metric: Metric, base: str, key: str, dsn: str, first: date, last: date, runs: int,
    warmup: int, slugs: dict[uuid.UUID, str],
) -> dict[str, Any]:  # fmt: skip
    params = {"metric": metric.value, "by": "touchpoint", "trend": "month",
              "from": first.isoformat(), "to": last.isoformat()}  # fmt: skip
    over_http = JsonGetter(base, "/api/v1/reports/surveys", params, key, str(metric))
    sql, arguments = counting_sql(metric, first, last)
    database = await asyncpg.connect(dsn)
    try:
        statement = await database.prepare(sql)

        async def by_hand() -> list[asyncpg.Record]:
            return await statement.fetch(*arguments)

        found = await alternate(over_http, by_hand, runs, warmup)
    finally:
        await database.close()
        over_http.close()
    body, rows = found.body, found.rows
    from_json: Counter[tuple[str, str]] = Counter()
    for group in body["groups"]:  # CES: an entry per touchpoint and scale
        for bucket in group["trend"]:
            from_json[(group["key"], bucket["bucket"])] += bucket["figures"]["n"]
    labels = [b["bucket"] for b in body["total"][0]["trend"]]
    from_rows: Counter[tuple[str, str]] = Counter()
    for place, bucket, _scale, _score, count in rows:
        from_rows[(slugs[place], labels[bucket - 1])] += count
    return {
        "metric": metric.value,
        "answers": sum(g["figures"]["n"] for g in body["total"]),
        **found.figures(),
        "same_counts": +from_json == +from_rows,
    }


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, REUSED)
    parser.add_argument("--answers", type=int, default=2_000_000)
    add_runs(parser, "timed runs per metric and side")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database if it holds --answers answers"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the data set and stop (then --reuse)"
    )
    add_json(parser)
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    url = args.database_url
    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=364)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    print(f"load average at start: {' '.join(map(str, os.getloadavg()))}")
    if args.reuse and await answer_count(url) == args.answers:
        print(f"reusing {url}: {args.answers:,} answers")
    else:
        print(f"building {args.answers:,} answers in {url} ...", flush=True)
        began = asyncio.get_running_loop().time()
        await build(url, args.answers, start)
        print(f"built in {asyncio.get_running_loop().time() - began:.0f} s")
    if args.build_only:
        return 0
    key = await issue_key(url, Scope.REPORTS_READ)
    dsn = dsn_of(url)
    slugs = {r["id"]: r["slug"] for r in await fetch(url, "SELECT id, slug FROM touchpoints")}
    results = []
    with tempfile.TemporaryDirectory() as tmp, serving(url, 1, Path(tmp) / "serve.log") as (
        base, _,
    ):  # fmt: skip
        for metric in Metric:
            results.append(await measure(metric, base, key, dsn, first, last, args.runs,
                                         args.warmup, slugs))  # fmt: skip
    print(f"\nperiod {first} to {last}, by touchpoint, monthly trend; {args.runs} runs each, "
          "medians in ms")  # fmt: skip
    print(f"{'metric':<8} {'answers':>10} {'ours':>8} {'p95':>8} {'SQL':>8} {'ratio':>6}  "
          "same counts")  # fmt: skip
    for r in results:
        print(f"{r['metric']:<8} {r['answers']:>10,} {r['ours_median_ms']:8.1f} "
              f"{r['ours_p95_ms']:8.1f} {r['sql_median_ms']:8.1f} {r['ratio']:6.2f}  "
              f"{'yes' if r['same_counts'] else 'NO'}")  # fmt: skip
    slowest = max(r["ours_median_ms"] for r in results)
    print(f"\nslowest report {slowest:.0f} ms (target < {TARGET_MS:.0f}: "
          f"{'met' if slowest < TARGET_MS else 'MISSED'})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["same_counts"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
