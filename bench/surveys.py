"""Survey answer latency at a fixed request rate, against the same SQL run alone.

Usage: .venv/bin/python bench/surveys.py [--rate 300] [--duration 30] [--rounds 2]
                                         [--workers 1] [--redis-url redis://127.0.0.1:6379/0]
                                         [--prime 10] [--lowest-score 0] [--contacts 30000]
                                         [--json out.json] [--database-url URL]

It builds a fresh PostgreSQL database (dropped and recreated), makes a site, a touchpoint and
one NPS survey per measured phase through the API, copies `--contacts` contacts (each with a
linked browser id) from one that captured, starts `inbound serve` as a subprocess and posts
answers to `POST /api/v1/surveys/{slug}/answers` at a fixed rate (open loop: latency counts
from the scheduled time), each from a respondent of its own (a known email, a linked browser
id, or an unknown browser), so that none is refused as already answered. In the same run, at
the same rate, two baselines: the bare `/health` endpoint through the same HTTP stack, and the
answer's statements alone (the service's own statements, compiled as it sends them, with the
same values) sent with asyncpg. The service and the SQL alone take turns, `--rounds` times
each in the order ours, SQL, SQL, ours..., each phase on a survey of its own, after a
CHECKPOINT and its own warm-up, so that neither is measured on a colder database or a busier
machine than the other; before the first, `--prime` seconds of answers that are not measured
open the server's pool and warm its caches; the load average is noted around each phase.
Server-side latency comes from the service's access log (`duration_ms`). The bar: server-side
p99 under 20 ms at 300 answers per second.
"""

import argparse
import json
import os
import statistics
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from database import dsn_of, fetch, run_sql
from figures import cells, stats
from fixed_rate import after_warmup, http_phase, sent_by_pool, server_durations
from http_load import Pool, Target
from options import add_json, bench_parser
from service import ORIGIN, fresh_database, run, serving
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from surveys_world import build_world, fill, respondents

from inbound.db import new_id
from inbound.leads.events import RECORD_LEAD_CHANGE
from inbound.lean_sql import LeanStatement
from inbound.surveys.answer_sql import CLAIM_AND_INSERT, CLAIM_AND_INSERT_WITH_CASE, CONTACT_OF
from inbound.surveys.case_opening import opened_case
from inbound.surveys.follow_up import is_negative

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_surveys"
UNLIMITED = "100000000/minute"
HTTP_SURVEY = "support-nps"
SQL_SURVEY = "support-nps-sql"
PRIME_SURVEY = "support-nps-prime"


def answers_path(survey: str) -> str:
    return f"/api/v1/surveys/{survey}/answers"


ANSWERS = answers_path(HTTP_SURVEY)


async def answer_phase(
    base: str, survey: str, site_key: str, mix: Sequence[dict[str, Any]], rate: float,
    warmup: float, seconds: float,
) -> tuple[list[float], int]:  # fmt: skip
    """POST each answer in turn, open loop, as a page on the site would."""
    headers = {"Authorization": f"Bearer {site_key}", "Origin": ORIGIN}
    target = Target(f"{base}{answers_path(survey)}", headers)
    requests = [target.post(json.dumps(body).encode()) for body in mix]
    return await sent_by_pool(Pool(target, 32), requests, 201, rate, warmup, seconds, fresh=True)


class Compiled:
    """A service statement as asyncpg receives it from the service."""

    def __init__(self, statement: LeanStatement) -> None:
        self.compiled = statement.compiled(asyncpg_dialect())
        self.sql = self.compiled.sql

    def args(self, params: dict[str, Any]) -> list[Any]:
        return self.compiled.arguments(params)


async def sql_phase(
    url: str, survey: dict[str, Any], mix: Sequence[dict[str, Any]], rate: float,
    warmup: float, seconds: float,
) -> tuple[list[float], int]:  # fmt: skip
    """The answer's statements alone, with the same respondents: what the service sends to
    PostgreSQL for each (the survey comes from its cache)."""
    contact_of = Compiled(CONTACT_OF)
    claim_and_insert, with_case = Compiled(CLAIM_AND_INSERT), Compiled(CLAIM_AND_INSERT_WITH_CASE)
    record_lead_change = Compiled(RECORD_LEAD_CHANGE)
    pool = await asyncpg.create_pool(dsn_of(url), min_size=4, max_size=10)
    refused = 0
    window = timedelta(days=survey["window_days"])
    # The survey as the service's cache holds it, with its touchpoint's SLA (the default).
    cached = {**survey, "id": uuid.UUID(survey["id"]), "sla_hours": 48,
              "touchpoint_id": uuid.UUID(survey["touchpoint_id"]),
              "touchpoint_slug": "support"}  # fmt: skip

    async def send(i: int) -> None:
        nonlocal refused
        body = mix[i]
        now = datetime.now(UTC)
        negative = is_negative(survey["metric"], body["score"], survey["scale_min"],
                               survey["scale_max"])  # fmt: skip
        async with pool.acquire() as connection:
            # As the service sends a page's answer: who answers, read on its own; then the
            # claim with the answer, one statement committed on its own, unless a known
            # contact's negative answer opens its case: its lead's new version, then the claim
            # with the answer, the case and its event, in a transaction.
            contact = await connection.fetchrow(contact_of.sql, *contact_of.args({
                "email": body.get("email"), "visitor_id": body.get("visitor_id"),
            }))  # fmt: skip
            key = f"contact:{contact['id']}" if contact else f"visitor:{body.get('visitor_id')}"
            row = {
                "id": new_id(), "survey_id": cached["id"],
                "touchpoint_id": cached["touchpoint_id"], "metric": survey["metric"],
                "score": body["score"], "scale_min": survey["scale_min"],
                "scale_max": survey["scale_max"], "comment": body.get("comment"),
                "contact_id": contact["id"] if contact else None,
                "visitor_id": body.get("visitor_id"),
                "persona_id": contact["persona_id"] if contact else None,
                "stage": contact["stage"] if contact else None, "source": "public",
                "site_id": None, "answered_at": now, "synchronous_commit": "off",
                "respondent": key, "window_start": now - window,
            }  # fmt: skip
            if not (negative and contact is not None):
                stored = await connection.fetchrow(
                    claim_and_insert.sql, *claim_and_insert.args(row)
                )
                refused += stored is None
                return
            async with connection.transaction():
                lead = dict(await connection.fetchrow(record_lead_change.sql,
                    *record_lead_change.args({"lead_id": contact["id"], "now": now})))  # fmt: skip
                opened = opened_case(cached, row, lead)
                params = (row | {f"case_{k}": v for k, v in opened.case.items()}
                          | {f"event_{k}": v for k, v in opened.event.items()})  # fmt: skip
                stored = await connection.fetchrow(with_case.sql, *with_case.args(params))
                refused += stored is None

    latencies = await after_warmup(send, rate, warmup, seconds, fresh=True)
    await pool.close()
    return latencies, refused


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=1, help="`inbound serve` processes.")
    parser.add_argument(
        "--redis-url",
        help="Shared by the processes (INBOUND_REDIS_URL), as "
        "in a deployment of several: rate limits and the cache's version.",
    )
    parser.add_argument("--rate", type=float, default=300.0, help="Answers per second.")
    parser.add_argument("--duration", type=float, default=30.0, help="Measured seconds per phase.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds before each phase.")
    parser.add_argument("--prime", type=float, default=10.0,
                        help="Unmeasured seconds of answers before the first phase.")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="Phases of ours and of the SQL.")
    parser.add_argument("--lowest-score", type=int, default=0, choices=range(11),
                        help="7 or more: no detractor, so no follow-up case")  # fmt: skip
    parser.add_argument("--contacts", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    add_json(parser, "Also write the figures here.")
    return parser.parse_args()


def phase_order(rounds: int) -> list[tuple[str, str]]:
    """(kind, survey slug) per phase: ours, SQL, SQL, ours, ... each on its own survey."""
    order = []
    for n in range(rounds):
        pair = [("ours", f"{HTTP_SURVEY}-{n + 1}"), ("sql", f"{SQL_SURVEY}-{n + 1}")]
        order += pair if n % 2 == 0 else pair[::-1]
    return order


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="inbound-bench-surveys-"))
    url, admin_key = fresh_database(args.database_url, "the benchmark needs PostgreSQL")
    env = {"INBOUND_LOG_LEVEL": "INFO", "INBOUND_LOG_JSON": "true",
           "INBOUND_SURVEY_RATE_PER_IP": UNLIMITED}  # fmt: skip
    if args.redis_url:
        env["INBOUND_REDIS_URL"] = args.redis_url
    log = work / "server.log"
    order = phase_order(args.rounds)
    skip = int(args.rate * args.warmup)
    mix = respondents(int(args.rate * (args.warmup + args.duration)), args.contacts, args.seed,
                      args.lowest_score)  # fmt: skip
    phases: list[dict[str, Any]] = []
    with serving(url, args.workers, log, env) as (base, _pid):
        world = build_world(base, admin_key, [PRIME_SURVEY, *(survey for _, survey in order)])
        run(fill(url, args.contacts))
        print(f"filled: {args.contacts:,} contacts with linked browsers; log in {log}")
        site_key = world["site"]["public_key"]
        if args.prime > 0:
            # Not measured: the server's pool fills and its caches warm on a survey of its own.
            run(answer_phase(base, PRIME_SURVEY, site_key, mix, args.rate, 0, args.prime))
        for kind, survey in order:
            run(run_sql(url, "CHECKPOINT", autocommit=True))
            load_before = os.getloadavg()[0]
            sessions_before = run(_sessions(url))
            if kind == "ours":
                latencies, errors = run(answer_phase(base, survey, site_key, mix, args.rate,
                                                     args.warmup, args.duration))  # fmt: skip
                server = stats(server_durations(log, answers_path(survey), skip))
            else:
                latencies, errors = run(sql_phase(url, world["surveys"][survey], mix, args.rate,
                                                  args.warmup, args.duration))  # fmt: skip
                server = None
            # Connections opened meanwhile (1 is our own count): a pool that churns shows here.
            opened = run(_sessions(url)) - sessions_before - 1
            phases.append({"kind": kind, "survey": survey, "errors": errors,
                           "client": stats(latencies), "server": server, "opened": opened,
                           "load": [load_before, os.getloadavg()[0]]})  # fmt: skip
        bare, bare_errors = run(
            http_phase(base, [("/health", {})], args.rate, args.warmup, args.duration)
        )
    results = {
        "rate": args.rate, "duration_s": args.duration, "workers": args.workers,
        "shared": "redis" if args.redis_url else "none",
        "rounds": args.rounds, "phases": phases,
        "errors": sum(p["errors"] for p in phases) + bare_errors,
        "bare_client": stats(bare), "bare_server": stats(server_durations(log, "/health", skip)),
    }  # fmt: skip
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


async def _sessions(url: str) -> int:
    """Sessions PostgreSQL has opened on the database so far."""
    [(count,)] = await fetch(
        url, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    )
    return int(count)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def report(results: dict[str, Any]) -> None:
    print(f"\n{results['rate']:.0f} requests/s for {results['duration_s']:.0f} s per phase, "
          f"{results['workers']} server process(es), shared state: {results['shared']}; "
          f"errors: {results['errors']}")  # fmt: skip
    print(f"{'phase':34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>6}  opened  load avg")
    for phase in results["phases"]:
        rows = [("client", phase["client"])]
        if phase["server"]:
            rows.insert(0, ("server", phase["server"]))
        for side, row in rows:
            name = "answer" if phase["kind"] == "ours" else "answer SQL alone (asyncpg)"
            label = f"{name}, {side}" if phase["kind"] == "ours" else name
            load = "{:.2f} -> {:.2f}".format(*phase["load"])
            print(f"{label:34} {cells(row)} {row['n']:6}  {phase['opened']:6}  {load}")
    for key, label in (
        ("bare_server", "bare /health, server"),
        ("bare_client", "bare /health, client"),
    ):
        row = results[key]
        print(f"{label:34} {cells(row)} {row['n']:6}")
    ours = [p["server"] for p in results["phases"] if p["kind"] == "ours"]
    sql = [p["client"] for p in results["phases"] if p["kind"] == "sql"]
    medians = {
        f"{side}_{q}": _median([r[q] for r in rows if r[q] is not None] or [0])
        for side, rows in (("ours", ours), ("sql", sql))
        for q in ("p50_ms", "p99_ms")
    }
    results["medians"] = medians
    for q in ("p50_ms", "p99_ms"):
        ratio = medians[f"ours_{q}"] / medians[f"sql_{q}"] if medians[f"sql_{q}"] else float("nan")
        print(f"median {q[:3]} over rounds: answer server {medians[f'ours_{q}']} ms, "
              f"SQL alone {medians[f'sql_{q}']} ms, ratio {ratio:.1f}x")  # fmt: skip
    worst = max((r["p99_ms"] or 0) for r in ours) if ours else None
    verdict = "meets" if worst is not None and medians["ours_p99_ms"] < 20 else "MISSES"
    print(f"server-side p99: median {medians['ours_p99_ms']} ms, worst round {worst} ms; "
          f"the median {verdict} the 20 ms bar")  # fmt: skip


if __name__ == "__main__":
    main()
