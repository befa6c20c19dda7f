"""The worker's churn pass at scale: our recompute against the bare SQL that computes the same
scores, in one run.

Builds (or reuses) a PostgreSQL database with `--contacts` eligible contacts (100,000 by
default; a tenth more at `lead`, which the pass skips), about 12 engagement ledger rows each over
120 days (a third of the contacts fading, a tenth silent), about 47,000 survey answers over 180
days and a feedback case for every fourth negative one (half of those overdue, a fifth resolved).

Times, alternating: our pass (`recompute_risks`: facts read set-based per batch of 2,000, scores
and reasons in Python, upserts, the flag's conditional update and the events), and the
baseline, one INSERT ... SELECT that computes only the scores in SQL and upserts them into a
table of its own. The first pass of ours (every row inserted, every crossing announced) is
reported apart. Checks that both give every contact the same score.

Usage: .venv/bin/python bench/churn.py [--contacts 100000] [--runs 5] [--reuse]
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime

import asyncpg
from database import count_or_none, dsn_of, fresh_schema, run_sql
from options import REUSED, bench_parser

from inbound.churn.recompute import recompute_risks
from inbound.db import create_engine

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_churn"
HALF_LIFE = 30.0
THRESHOLD = 50

FILL = """
INSERT INTO contacts (id, email, stage, stage_changed_at, custom_fields, topics, touches, fit,
                      grade, score, created_at, updated_at, version)
SELECT gen_random_uuid(), 'c' || i || '@example.com',
       CASE WHEN i % 11 = 0 THEN 'lead'
            ELSE (ARRAY['opportunity', 'customer', 'evangelist'])[1 + i % 3] END,
       $1, '{}', '[]', '{}', 0.5, 'B', 10, $1 - (30 + i % 400) * interval '1 day', $1, 1
FROM generate_series(1, $2::int) AS i;

-- Engagement: steady, fading (little in the last 30 days) or silent (nothing for 70+ days).
INSERT INTO score_events (id, contact_id, kind, points, capped, created_at)
SELECT gen_random_uuid(), c.id, 'page_view', 1 + floor(random() * 5), false,
       $1 - CASE
         WHEN h % 10 = 0 THEN (70 + random() * 50) * interval '1 day'
         WHEN h % 3 = 0 THEN (CASE WHEN random() < 0.15 THEN random() * 30 ELSE 30 + random() * 90
                                END) * interval '1 day'
         ELSE random() * 120 * interval '1 day' END
FROM (SELECT id, abs(hashtext(id::text)) AS h FROM contacts) AS c, generate_series(1, 12);

INSERT INTO touchpoints (id, slug, name, kind, channel, sla_hours, archived, created_at,
                         updated_at, version)
VALUES (gen_random_uuid(), 'onboarding', 'Onboarding', 'channel', 'onboarding', 48, false, $1,
        $1, 1);
INSERT INTO surveys (id, slug, touchpoint_id, metric, question, scale_min, scale_max,
                     window_days, archived, created_at, updated_at, version)
SELECT gen_random_uuid(), m.metric, t.id, m.metric, '?', m.low, m.high, 90, false, $1, $1, 1
FROM touchpoints t, (VALUES ('nps', 0, 10), ('ces', 1, 7), ('csat', 1, 5)) AS m(metric, low, high);

INSERT INTO survey_answers (id, survey_id, touchpoint_id, metric, score, scale_min, scale_max,
                            contact_id, source, answered_at)
SELECT gen_random_uuid(), s.id, s.touchpoint_id, s.metric,
       s.scale_min + floor(random() * (s.scale_max - s.scale_min + 1))::int, s.scale_min,
       s.scale_max, c.id, 'link', $1 - random() * 180 * interval '1 day'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts) AS c
JOIN (SELECT *, row_number() OVER (ORDER BY slug) AS k FROM surveys) AS s ON s.k = 1 + c.n % 3
WHERE c.n % 3 = 0 OR c.n % 7 = 0;

INSERT INTO feedback_cases (id, answer_id, contact_id, survey_id, touchpoint_id, status,
                            opened_at, due_at, updated_at, version)
SELECT gen_random_uuid(), a.id, a.contact_id, a.survey_id, a.touchpoint_id,
       CASE WHEN random() < 0.2 THEN 'resolved' ELSE 'open' END, a.answered_at,
       $1 + (random() - 0.5) * 20 * interval '1 day', $1, 1
FROM survey_answers a
WHERE (a.metric = 'nps' AND a.score <= 6 OR a.metric = 'ces' AND a.score <= 3
       OR a.metric = 'csat' AND a.score <= 2) AND random() < 0.25;
""".replace("$1", "$1::timestamptz")

BASELINE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_baseline_risks (contact_id uuid PRIMARY KEY, score int NOT NULL)
"""
# The same score, in SQL alone: no reasons, no flag, no events.
BASELINE = """
WITH e AS (
  SELECT c.id, c.created_at,
    coalesce(sum(s.points) FILTER (WHERE s.created_at >= $1 - interval '30 days'
                                   AND s.created_at <= $1), 0) AS recent,
    coalesce(sum(s.points) FILTER (WHERE s.created_at >= $1 - interval '60 days'
                                   AND s.created_at < $1 - interval '30 days'), 0) AS earlier,
    max(s.created_at) FILTER (WHERE s.points > 0 AND s.created_at <= $1) AS last
  FROM contacts c LEFT JOIN score_events s ON s.contact_id = c.id
  WHERE c.stage IN ('opportunity', 'customer', 'evangelist')
  GROUP BY c.id
), a AS (
  SELECT contact_id, count(*) AS n FROM survey_answers
  WHERE contact_id IS NOT NULL AND answered_at >= $1 - interval '90 days' AND answered_at <= $1
    AND (metric = 'nps' AND score <= 6 OR metric = 'ces' AND scale_max = 5 AND score <= 2
         OR metric = 'ces' AND scale_max = 7 AND score <= 3 OR metric = 'csat' AND score <= 2)
  GROUP BY contact_id
), f AS (
  SELECT contact_id, count(*) AS n, count(*) FILTER (WHERE due_at < $1) AS overdue
  FROM feedback_cases WHERE status <> 'resolved' GROUP BY contact_id
)
INSERT INTO bench_baseline_risks (contact_id, score)
SELECT e.id, least(100,
  CASE WHEN e.earlier >= 10 AND (e.earlier - greatest(e.recent, 0)) / e.earlier >= 0.25
       THEN floor(30 * (e.earlier - greatest(e.recent, 0)) / e.earlier + 0.5) ELSE 0 END
  + CASE WHEN $1 - coalesce(e.last, e.created_at) >= interval '60 days' THEN 25 ELSE 0 END
  + CASE WHEN a.n > 0 THEN 35 + least(10, 5 * (a.n - 1)) ELSE 0 END
  + least(40, 10 * (coalesce(f.n, 0) - coalesce(f.overdue, 0)) + 20 * coalesce(f.overdue, 0)))
FROM e LEFT JOIN a ON a.contact_id = e.id LEFT JOIN f ON f.contact_id = e.id
ON CONFLICT (contact_id) DO UPDATE SET score = excluded.score
""".replace("$1", "$1::timestamptz")
DIFFERENT = """
SELECT count(*) FILTER (WHERE r.score IS DISTINCT FROM b.score), count(*),
       count(*) FILTER (WHERE r.at_risk)
FROM contact_risks r FULL JOIN bench_baseline_risks b ON b.contact_id = r.contact_id
"""


async def build(url: str, contacts: int, now: datetime) -> None:
    await fresh_schema(url)
    connection = await asyncpg.connect(dsn_of(url))
    try:
        async with connection.transaction():
            for statement in FILL.split(";\n"):
                if statement.strip():
                    args = (now, contacts * 11 // 10) if "$2" in statement else (now,)
                    await connection.execute(statement, *args)
    finally:
        await connection.close()
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)


async def eligible_count(url: str) -> int | None:
    return await count_or_none(url, "SELECT count(*) FROM contacts WHERE stage <> 'lead'")


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, REUSED)
    parser.add_argument("--contacts", type=int, default=100_000, help="eligible contacts")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side")
    parser.add_argument("--reuse", action="store_true")
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    url = args.database_url
    now = datetime.now(UTC)
    print(f"load average at start: {' '.join(map(str, os.getloadavg()))}")
    if args.reuse and (await eligible_count(url) or 0) >= args.contacts:
        print(f"reusing {url}")
        await run_sql(url, "DELETE FROM contact_risks", "DELETE FROM lead_events")
    else:
        print(f"building {args.contacts:,} eligible contacts in {url} ...", flush=True)
        began = time.perf_counter()
        await build(url, args.contacts, now)
        print(f"built in {time.perf_counter() - began:.0f} s")
    counts = await run_sql(
        url, "SELECT count(*) FROM contacts WHERE stage <> 'lead'",
        "SELECT count(*) FROM score_events", "SELECT count(*) FROM survey_answers",
        "SELECT count(*) FROM feedback_cases", BASELINE_TABLE,
    )  # fmt: skip
    print(f"eligible contacts {counts[0]:,}, ledger rows {counts[1]:,}, answers {counts[2]:,}, "
          f"cases {counts[3]:,}")  # fmt: skip
    # Pooled, as the worker's engine is: a pass's batches reuse their connections.
    engine = create_engine(url)
    baseline = await asyncpg.connect(dsn_of(url))

    async def ours() -> float:
        began = time.perf_counter()
        await recompute_risks(engine, threshold=THRESHOLD, half_life_days=HALF_LIFE, now=now)
        return time.perf_counter() - began

    async def bare() -> float:
        began = time.perf_counter()
        await baseline.execute(BASELINE, now)
        return time.perf_counter() - began

    try:
        first = await ours()
        events = await run_sql(url, "SELECT count(*) FROM lead_events")
        print(f"first pass (inserts, {events[0]:,} lead.at_risk): {first:.2f} s, "
              f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
        await bare()
        mine, theirs = [], []
        for _ in range(args.runs):
            mine.append(await ours())
            theirs.append(await bare())
        [different, total, flagged] = await baseline.fetchrow(DIFFERENT)
        events_after = await run_sql(url, "SELECT count(*) FROM lead_events")
    finally:
        await baseline.close()
        await engine.dispose()
    ours_s, bare_s = statistics.median(mine), statistics.median(theirs)
    print(
        f"steady passes, {args.runs} runs each, medians: ours {ours_s:.2f} s "
        f"({total / ours_s:,.0f} contacts/s), bare SQL {bare_s:.2f} s, ratio {ours_s / bare_s:.2f}"
    )
    print(
        f"flagged {flagged:,} of {total:,}; events after the first pass: "
        f"{events_after[0] - events[0]}; scores differing from the SQL's: {different}"
    )
    print(f"load average at end: {' '.join(map(str, os.getloadavg()))}")
    return 0 if different == 0 and events_after[0] == events[0] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
