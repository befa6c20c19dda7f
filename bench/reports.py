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
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from database import (
    count_or_none,
    dsn_of,
    fresh_schema,
    issue_key,
    midnight_utc,
    plain_engine,
    run_sql,
)
from options import REUSED, add_json, add_runs, bench_parser
from reports_cases import Case, Period, cases
from service import serving
from side_by_side import JsonGetter, alternate, print_differences, without_numbers

from inbound.auth.scopes import Scope
from inbound.demo import load_history

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_reports"
RATIO_TARGET = 1.5
EAGERNESS = 4.5
FUNNEL_TARGET_MS = 300.0


async def measure(
    case: Case, base: str, key: str, dsn: str, period: Period, runs: int, warmup: int
) -> dict[str, Any]:
    over_http = JsonGetter(base, case.path, case.params, key, case.name)
    database = await asyncpg.connect(dsn)
    try:
        for setting in case.settings:
            await database.execute(setting)
        prepared = [await database.prepare(sql) for sql in case.sql]
        arguments = case.arguments(period)

        async def by_hand() -> list[list[asyncpg.Record]]:
            return [await statement.fetch(*arguments) for statement in prepared]

        found = await alternate(over_http, by_hand, runs, warmup)
    finally:
        await database.close()
        over_http.close()
    ours, theirs = case.from_json(found.body), case.from_rows(found.rows)
    return {
        "name": case.name,
        **found.figures(),
        "same_numbers": ours == theirs,
        "ours_numbers": ours,
        "sql_numbers": theirs,
    }


# -- the data ------------------------------------------------------------------------------------


async def contact_count(url: str) -> int | None:
    return await count_or_none(url, "SELECT count(*) FROM contacts")


async def build(url: str, contacts: int, now: datetime) -> float:
    """A fresh database holding the synthetic history; the seconds the load took."""
    await fresh_schema(url)
    began = time.perf_counter()
    engine = plain_engine(url)
    try:
        # Eager conversion: about three stage changes per contact, as the target data set has.
        await load_history(engine, contacts=contacts, now=now, eagerness=EAGERNESS)
    finally:
        await engine.dispose()
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)
    return time.perf_counter() - began


# -- the run -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, REUSED)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    add_runs(parser, "timed runs per report and side")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database when it already holds --contacts contacts",
    )
    add_json(parser)
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    url = args.database_url
    now = midnight_utc()
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
    key = await issue_key(url, Scope.REPORTS_READ)
    last = now.date() - timedelta(days=1)
    period = Period(last - timedelta(days=364), last)
    dsn = dsn_of(url)
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
    failed = print_differences(results)
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
            "results": [without_numbers(r) for r in results],
        }
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
