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
from urllib.parse import urlencode

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

sys.path.insert(0, str(Path(__file__).parent))

from capture import plain_engine, recreate_database, run_sql, serving
from http_load import Connection, Target
from reports import median_ms, p95_ms, reports_key, timed

from inbound import migrate
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
from inbound.surveys.models import Metric, Survey, Touchpoint

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_surveys"
TARGET_MS = 300.0
TOUCHPOINTS = 10
PERSONAS = 5
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")

# Every answer of a year, in time order (as they arrive), spread over the 30 surveys.
FILL = f"""
WITH s AS (
  SELECT array_agg(id ORDER BY slug) AS ids, array_agg(touchpoint_id ORDER BY slug) AS places,
         array_agg(metric ORDER BY slug) AS metrics, array_agg(scale_min ORDER BY slug) AS mins,
         array_agg(scale_max ORDER BY slug) AS maxs, count(*)::int AS n
  FROM surveys
), p AS (SELECT array_agg(id ORDER BY slug) AS ids FROM personas),
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
    try:
        [count] = await run_sql(url, "SELECT count(*) FROM survey_answers")
    except Exception:  # no such database or table yet
        return None
    return int(count)


async def build(url: str, answers: int, start: datetime) -> None:
    """A fresh database with the touchpoints, surveys, personas and answers."""
    await recreate_database(make_url(url))
    await asyncio.to_thread(migrate.upgrade, url)
    engine = plain_engine(url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for i in range(PERSONAS):
            session.add(Persona(slug=f"persona-{i}", name=f"Persona {i}"))
        for i in range(TOUCHPOINTS):
            place = Touchpoint(slug=f"touchpoint-{i:02d}", name=f"Touchpoint {i:02d}",
                               kind="channel", channel=f"channel-{i}")  # fmt: skip
            session.add(place)
            await session.flush()  # no relationships: the unit of work does not order them
            ces_max = 5 if i % 2 == 0 else 7
            for metric, low, high in (("nps", 0, 10), ("ces", 1, ces_max), ("csat", 1, 5)):
                session.add(Survey(slug=f"{metric}-{i:02d}", touchpoint_id=place.id,
                                   metric=metric, question=f"{metric}?", scale_min=low,
                                   scale_max=high))  # fmt: skip
    await engine.dispose()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
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
    connection = Connection(Target(f"{base}/api/v1/reports/surveys?{urlencode(params)}",
                                   {"Authorization": f"Bearer {key}"}))  # fmt: skip
    request = connection.target.get()

    async def over_http() -> dict[str, Any]:
        answer = await connection.send(request)
        if answer.status != 200:
            raise RuntimeError(f"{metric}: {answer.status} {answer.body[:300]!r}")
        body: dict[str, Any] = json.loads(answer.body)
        return body

    sql, arguments = counting_sql(metric, first, last)
    database = await asyncpg.connect(dsn)
    try:
        statement = await database.prepare(sql)

        async def by_hand() -> list[asyncpg.Record]:
            return await statement.fetch(*arguments)

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
        "ours_median_ms": median_ms(ours),
        "ours_p95_ms": p95_ms(ours),
        "sql_median_ms": median_ms(theirs),
        "ratio": median_ms(ours) / median_ms(theirs),
        "same_counts": +from_json == +from_rows,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="dropped and recreated unless --reuse finds it filled")  # fmt: skip
    parser.add_argument("--answers", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per metric and side")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database if it holds --answers answers"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the data set and stop (then --reuse)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
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
    key = await reports_key(url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    slugs = {r["id"]: r["slug"] for r in await connection.fetch("SELECT id, slug FROM touchpoints")}
    await connection.close()
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
