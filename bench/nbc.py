"""Next-best-content latency at a fixed request rate, over 1M events and 10k contacts.

Usage: .venv/bin/python bench/nbc.py [--rate 200] [--duration 30] [--events 1000000]
                                     [--contacts 10000] [--json out.json] [--database-url URL]

It builds a fresh PostgreSQL database (dropped and recreated), fills it with COPY (200 assets,
10,000 contacts with linked anonymous and user ids, 1,000,000 events over 60 days), computes
the signals, starts `inbound serve` as a subprocess and sends `GET /api/v1/next` at a fixed
rate (open loop: latency counts from the scheduled time). In the same run, at the same rate,
two baselines: the bare `/health` endpoint through the same HTTP stack, and the request's
history query alone, written by hand and sent with asyncpg. Server-side latency comes from the
service's access log (`duration_ms`). The bar: server-side p99 under 20 ms.
"""

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
from database import dsn_of, plain_engine
from figures import cells, stats
from fixed_rate import after_warmup, http_phase, server_durations
from nbc_data import build_catalog, fill, requests_for
from options import add_json, bench_parser
from service import ORIGIN, fresh_database, run, serving

from inbound.db import utcnow
from inbound.tracking.nbc.signals import refresh_signals

NEXT = "/api/v1/next"
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_nbc"
# Hand-written twins of the service's history statements: the database's share of a request.
BROWSER_SQL = "SELECT asset_id, created_at FROM captures WHERE visitor_id = $1"
ANONYMOUS_SQL = """SELECT id, asset_id, occurred_at, context #>> '{campaign,name}' AS campaign
FROM tracking_events WHERE anonymous_id = $1 ORDER BY occurred_at DESC LIMIT 300"""
CONTACT_SQL = """SELECT c.persona_id, c.stage, k.asset_id, k.created_at
FROM contacts c LEFT JOIN captures k ON k.contact_id = c.id WHERE c.id = $1"""
LINKED_SQL = """(SELECT e.id, e.asset_id, e.occurred_at, e.context #>> '{campaign,name}'
  FROM visitor_identities v JOIN tracking_events e ON e.anonymous_id = v.external_id
  WHERE v.contact_id = $1 AND v.kind = 'anonymous' ORDER BY e.occurred_at DESC LIMIT 300)
UNION ALL
(SELECT e.id, e.asset_id, e.occurred_at, e.context #>> '{campaign,name}'
  FROM visitor_identities v JOIN tracking_events e ON e.user_id = v.external_id
  WHERE v.contact_id = $1 AND v.kind = 'user' ORDER BY e.occurred_at DESC LIMIT 300)"""


async def sql_phase(url: str, mix: Sequence[dict[str, Any]], rate: float, warmup: float,
                    seconds: float) -> list[float]:  # fmt: skip
    pool = await asyncpg.create_pool(dsn_of(url), min_size=4, max_size=10)

    async def send(i: int) -> None:
        params = mix[i % len(mix)]
        async with pool.acquire() as connection:
            if "contact_id" in params:
                cid = uuid.UUID(params["contact_id"])
                async with connection.transaction():
                    await connection.fetch(CONTACT_SQL, cid)
                    await connection.fetch(LINKED_SQL, cid)
            elif "anonymous_id" in params:
                async with connection.transaction():
                    await connection.fetch(BROWSER_SQL, params["anonymous_id"])
                    await connection.fetch(ANONYMOUS_SQL, params["anonymous_id"])

    latencies = await after_warmup(send, rate, warmup, seconds)
    await pool.close()
    return latencies


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=1, help="`inbound serve` processes.")
    parser.add_argument("--rate", type=float, default=200.0, help="Requests per second.")
    parser.add_argument("--duration", type=float, default=30.0, help="Measured seconds per phase.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    add_json(parser, "Also write the figures here.")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="inbound-bench-nbc-"))
    url, admin_key = fresh_database(args.database_url, "the benchmark needs PostgreSQL")
    env = {
        "INBOUND_LOG_LEVEL": "INFO",
        "INBOUND_LOG_JSON": "true",
        "INBOUND_NBC_REFRESH_SECONDS": "0",
        # One load generator is one address: the per-address limit would answer most with 429.
        "INBOUND_TRACKING_RATE_PER_IP": "1000000/minute",
    }
    log = work / "server.log"
    with serving(url, args.workers, log, env) as (base, _pid):
        started = time.perf_counter()
        world = build_catalog(base, admin_key, args.assets, random.Random(args.seed))
        people = run(fill(url, world, args.contacts, args.events, args.seed))
        filled = time.perf_counter() - started
        refresh_started = time.perf_counter()
        refreshed = run(_refresh(url))
        refresh_s = time.perf_counter() - refresh_started
        print(f"filled in {filled:.1f} s: {args.events:,} events, {args.contacts:,} contacts, "
              f"{args.assets} assets; signals in {refresh_s:.1f} s ({refreshed})")  # fmt: skip
        mix = requests_for(people, world, 20_000, args.seed)
        # A page asks with the site's public key; a server asks by contact with a lead reader's.
        page = {"Authorization": f"Bearer {world['site']['public_key']}", "Origin": ORIGIN}
        server = {"Authorization": f"Bearer {admin_key}"}
        requests = [(f"{NEXT}?{urlencode(p)}", server if "contact_id" in p else page) for p in mix]
        skip = int(args.rate * args.warmup)
        ours, errors = run(http_phase(base, requests, args.rate, args.warmup, args.duration))
        bare, bare_errors = run(
            http_phase(base, [("/health", {})], args.rate, args.warmup, args.duration)
        )
        alone = run(sql_phase(url, mix, args.rate, args.warmup, args.duration))
    results = {
        "rate": args.rate, "duration_s": args.duration, "workers": args.workers,
        "errors": errors + bare_errors,
        "next_client": stats(ours), "next_server": stats(server_durations(log, NEXT, skip)),
        "bare_client": stats(bare), "bare_server": stats(server_durations(log, "/health", skip)),
        "history_sql": stats(alone), "refresh_s": round(refresh_s, 2),
    }  # fmt: skip
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


async def _refresh(url: str) -> Any:
    engine = plain_engine(url)
    try:
        async with engine.begin() as connection:
            return await refresh_signals(connection, now=utcnow(), window_days=30, min_together=2)
    finally:
        await engine.dispose()


ROWS = (
    ("next_server", "/api/v1/next, server"),
    ("next_client", "/api/v1/next, client"),
    ("bare_server", "bare /health, server"),
    ("bare_client", "bare /health, client"),
    ("history_sql", "history SQL alone (asyncpg)"),
)


def report(results: dict[str, Any]) -> None:
    print(f"\n{results['rate']:.0f} requests/s for {results['duration_s']:.0f} s each, "
          f"{results['workers']} server process(es); errors: {results['errors']}")  # fmt: skip
    print(f"{'':28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>7}")
    for key, label in ROWS:
        row = results[key]
        print(f"{label:28} {cells(row)} {row['n']:7}")
    ours, bare, sql = results["next_server"], results["bare_server"], results["history_sql"]
    client, bare_client = results["next_client"], results["bare_client"]
    if ours["p99_ms"] and bare["p99_ms"] and sql["p99_ms"] and bare_client["p99_ms"]:
        print(f"p99 ratios: next/bare server {ours['p99_ms'] / bare['p99_ms']:.1f}x, "
              f"next server/history SQL {ours['p99_ms'] / sql['p99_ms']:.1f}x, "
              f"next/bare client {client['p99_ms'] / bare_client['p99_ms']:.1f}x")  # fmt: skip
    verdict = "meets" if ours["p99_ms"] is not None and ours["p99_ms"] < 20 else "MISSES"
    print(f"server-side p99 {ours['p99_ms']} ms {verdict} the 20 ms bar")


if __name__ == "__main__":
    main()
