"""Listing qualified leads at scale: our HTTP answers against the best hand-written SQL.

Uses (or builds) the same PostgreSQL data set as `bench/reports.py` (1,000,000 contacts by
default), starts the service on it, and times `GET /api/v1/leads?stage=qualified&limit=500` in
the change-feed order (the default) and by score, against one hand-written statement per case
that returns the same 500 leads with their persona and the assets they took, run directly with
asyncpg on one connection (prepared). It checks both list the same leads and prints the ratio
of the medians (the SQL alone is the floor: the difference is the service's own work), and
the default listing against its target of 100 ms.

Usage: .venv/bin/python bench/leads.py [--contacts 1000000] [--runs 20] [--reuse]
"""

import argparse
import asyncio
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from database import dsn_of, issue_key, midnight_utc, run_sql
from options import add_runs, bench_parser
from reports import DEFAULT_URL, build, contact_count, measure
from reports_cases import Case, Period
from service import serving

from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.leads.qualification.settings import ScoringSettings

TARGET_MS = 100.0
HALF_LIFE_SECONDS = ScoringSettings().half_life_days * 86400

# The assets each listed lead took, first taken first, as the API lists them.
ASSETS_TAKEN = """
(SELECT json_agg(json_build_object('id', t.asset_id, 'first', t.first) ORDER BY t.first)
 FROM (SELECT asset_id, min(created_at) AS first FROM captures
       WHERE contact_id = page.id GROUP BY asset_id) t)
"""
QUALIFIED_BY_CHANGE = f"""
WITH page AS (
  SELECT c.*, p.slug, p.name FROM contacts c LEFT JOIN personas p ON p.id = c.persona_id
  WHERE c.stage IN ('mql', 'sql')
    AND c.change_seq < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
  ORDER BY c.change_seq, c.id LIMIT 501
)
SELECT page.*, {ASSETS_TAKEN} AS assets FROM page ORDER BY change_seq, id
"""
QUALIFIED_BY_SCORE = f"""
WITH page AS (
  SELECT c.*, p.slug, p.name,
         c.score * exp(-ln(2) * extract(epoch FROM now() - coalesce(c.score_at, now()))
                       / {HALF_LIFE_SECONDS}) AS decayed
  FROM contacts c LEFT JOIN personas p ON p.id = c.persona_id
  WHERE c.stage IN ('mql', 'sql')
  ORDER BY decayed DESC, c.id LIMIT 501
)
SELECT page.*, {ASSETS_TAKEN} AS assets FROM page ORDER BY decayed DESC, id
"""


def ids_from_json(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def ids_from_rows(results: list[list[asyncpg.Record]]) -> list[str]:
    return [str(row["id"]) for row in results[0][:500]]


def cases() -> list[Case]:
    qualified = {"stage": "qualified", "limit": "500"}
    return [
        Case(name="qualified, change order", path="/api/v1/leads", params=qualified,
             sql=[QUALIFIED_BY_CHANGE], settings=[], arguments=lambda _period: (),
             from_json=ids_from_json, from_rows=ids_from_rows),
        Case(name="qualified, by score", path="/api/v1/leads",
             params={**qualified, "sort": "score"}, sql=[QUALIFIED_BY_SCORE], settings=[],
             arguments=lambda _period: (), from_json=ids_from_json, from_rows=ids_from_rows),
    ]  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, whole_doc=True)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    add_runs(parser)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database when it holds --contacts"
    )
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    url = args.database_url
    if args.reuse and await contact_count(url) == args.contacts:
        print(f"reusing {url}: {args.contacts:,} contacts")
        await asyncio.to_thread(migrate.upgrade, url)
        await run_sql(url, "VACUUM ANALYZE contacts", autocommit=True)
    else:
        print(f"building {args.contacts:,} contacts in {url} ...", flush=True)
        now = midnight_utc()
        print(f"built in {await build(url, args.contacts, now):.0f} s")
    [qualified] = await run_sql(url, "SELECT count(*) FROM contacts WHERE stage IN ('mql','sql')")
    print(f"{qualified:,} qualified leads among {args.contacts:,} contacts")
    key = await issue_key(url, Scope.LEADS_READ)
    dsn = dsn_of(url)
    unused = Period(date.today(), date.today())
    results = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serving(url, 1, Path(tmp) / "serve.log") as (
            base,
            _,
        ),
    ):
        for case in cases():
            results.append(await measure(case, base, key, dsn, unused, args.runs, args.warmup))
    print(f"\n{args.runs} runs each, medians in ms")
    print(f"{'listing':<28} {'ours':>8} {'p95':>8} {'by hand':>8} {'ratio':>6}  same leads")
    for r in results:
        print(
            f"{r['name']:<28} {r['ours_median_ms']:8.1f} {r['ours_p95_ms']:8.1f} "
            f"{r['sql_median_ms']:8.1f} {r['ratio']:6.2f}  {'yes' if r['same_numbers'] else 'NO'}"
        )
    listing_ms = results[0]["ours_median_ms"]
    print(
        f"\nqualified listing {listing_ms:.1f} ms (target < {TARGET_MS:.0f}: "
        f"{'met' if listing_ms < TARGET_MS else 'MISSED'})"
    )
    same = all(r["same_numbers"] for r in results)
    return 0 if same and listing_ms < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
