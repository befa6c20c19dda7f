"""Survey answer latency at a fixed request rate, against the same SQL run alone.

Usage: .venv/bin/python bench/surveys.py [--rate 300] [--duration 30] [--contacts 30000]
                                         [--json out.json] [--database-url URL]

It builds a fresh PostgreSQL database (dropped and recreated), makes a site, a touchpoint and
two NPS surveys through the API, copies `--contacts` contacts (each with a linked browser id)
from one that captured, starts `inbound serve` as a subprocess and posts answers to
`POST /api/v1/surveys/{slug}/answers` at a fixed rate (open loop: latency counts from the
scheduled time), each from a respondent of its own (a known email, a linked browser id, or an
unknown browser), so that none is refused as already answered. In the same run, at the same
rate, two baselines: the bare `/health` endpoint through the same HTTP stack, and the answer's
transaction alone (the service's own statements, compiled as it sends them, with the same
values, a negative answer of a known contact with its follow-up case's three statements) sent
with asyncpg on the second survey. Server-side latency comes from the service's
access log (`duration_ms`). The bar: server-side p99 under 20 ms at 300 answers per second.
"""

import argparse
import json
import random
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from capture import ORIGIN, prepare_database, recreate_database, run, run_sql, serving
from http_load import HttpError, Pool, Target
from nbc import http_phase, open_loop, server_durations, stats
from sqlalchemy import make_url
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from inbound import migrate
from inbound.db import new_id
from inbound.leads.events import INSERT_LEAD_EVENT, RECORD_LEAD_CHANGE, LeadEventType
from inbound.lean_sql import LeanStatement
from inbound.surveys.answer_sql import (
    CLAIM_WINDOW,
    CONTACT_BY_EMAIL,
    CONTACT_BY_VISITOR,
    INSERT_ANSWER,
    INSERT_CASE,
    SURVEY_BY_SLUG,
)
from inbound.surveys.case_events import case_event
from inbound.surveys.case_schemas import case_read
from inbound.surveys.follow_up import due_at, is_negative

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_surveys"
UNLIMITED = "100000000/minute"
HTTP_SURVEY = "support-nps"
SQL_SURVEY = "support-nps-sql"
ANSWERS = f"/api/v1/surveys/{HTTP_SURVEY}/answers"


def build_world(base: str, admin_key: str) -> dict[str, Any]:
    """A site, a touchpoint, two surveys and one captured contact, through the API."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:

        def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
            answer: dict[str, Any] = response.json()
            return answer

        site = created("/api/v1/sites", {"name": "Main", "allowed_origins": [ORIGIN]})
        created("/api/v1/assets", {"slug": "guide", "title": "Guide", "kind": "ebook",
                                   "funnel_stage": "convert"})  # fmt: skip
        created("/api/v1/touchpoints", {"slug": "support", "name": "Support", "kind": "channel",
                                        "channel": "support"})  # fmt: skip
        survey = {"touchpoint": "support", "metric": "nps", "question": "How likely?",
                  "comment_prompt": "Why?"}  # fmt: skip
        for slug in (HTTP_SURVEY, SQL_SURVEY):
            created("/api/v1/surveys", {"slug": slug, **survey})
        template = httpx.post(
            f"{base}/api/v1/captures",
            json={"asset": "guide", "email": "template@bench.example"},
            headers={"Authorization": f"Bearer {site['public_key']}", "Origin": ORIGIN},
        )
        if template.status_code != 201:
            raise RuntimeError(f"capture refused: {template.text}")
    return {"site": site}


async def fill(url: str, contacts: int) -> None:
    """``contacts`` copies of the template contact, each with a linked browser id."""
    columns = await _rows(
        url,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts' "
        "AND column_name NOT IN ('id', 'email') ORDER BY ordinal_position",
    )
    names = ", ".join(r[0] for r in columns)
    await run_sql(
        url,
        f"INSERT INTO contacts (id, email, {names}) "
        f"SELECT bench_uuid(i), 'c' || i || '@bench.example', {names} "
        f"FROM contacts, generate_series(1, {contacts}) AS i "
        "WHERE email = 'template@bench.example'",
        "INSERT INTO visitor_identities (kind, external_id, contact_id, linked_at) "
        "SELECT 'anonymous', 'a' || substr(email, 2, strpos(email, '@') - 2), id, now() "
        "FROM contacts WHERE email LIKE 'c%@bench.example'",
        "VACUUM ANALYZE",
        autocommit=True,
    )


async def _rows(url: str, sql: str) -> list[Any]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def respondents(count: int, contacts: int, seed: int) -> list[dict[str, Any]]:
    """Each answer's own respondent: 40% a known email, 30% a linked browser, 30% a stranger."""
    rng = random.Random(seed)
    people = rng.sample(range(1, contacts + 1), min(count, contacts))
    mix: list[dict[str, Any]] = []
    for n in range(count):
        roll = rng.random()
        body: dict[str, Any] = {"score": rng.randint(0, 10)}
        if roll < 0.7 and n < len(people):
            if roll < 0.4:
                body["email"] = f"c{people[n]}@bench.example"
            else:
                body["visitor_id"] = f"a{people[n]}"
        else:
            body["visitor_id"] = f"stranger-{uuid.uuid4().hex}"
        if rng.random() < 0.3:
            body["comment"] = "The answer came quickly and it was right."
        mix.append(body)
    return mix


async def answer_phase(base: str, site_key: str, mix: Sequence[dict[str, Any]], rate: float,
                       warmup: float, seconds: float) -> tuple[list[float], int]:  # fmt: skip
    """POST each answer in turn, open loop, as a page on the site would."""
    target = Target(f"{base}{ANSWERS}", {"Authorization": f"Bearer {site_key}", "Origin": ORIGIN})
    pool = Pool(target, 32)
    requests = [target.post(json.dumps(body).encode()) for body in mix]
    errors = 0
    warm = int(rate * warmup)

    async def send(i: int) -> None:
        nonlocal errors
        try:
            answer = await pool.send(requests[i])
            errors += answer.status != 201
        except HttpError:
            errors += 1

    await open_loop(send, rate, warmup)
    latencies = await open_loop(lambda i: send(warm + i), rate, seconds)
    pool.close()
    return latencies, errors


class Compiled:
    """A service statement as asyncpg receives it from the service."""

    def __init__(self, statement: LeanStatement) -> None:
        self.compiled = statement.compiled(asyncpg_dialect())

    def args(self, params: dict[str, Any]) -> list[Any]:
        return self.compiled.arguments(params)


async def sql_phase(url: str, mix: Sequence[dict[str, Any]], rate: float, warmup: float,
                    seconds: float) -> tuple[list[float], int]:  # fmt: skip
    """The answer's transaction alone, on the second survey, with the same respondents."""
    survey, by_email, by_visitor, claim, insert = (
        Compiled(s) for s in (SURVEY_BY_SLUG, CONTACT_BY_EMAIL, CONTACT_BY_VISITOR,
                              CLAIM_WINDOW, INSERT_ANSWER)
    )  # fmt: skip
    follow_up = FollowUp()
    pool = await asyncpg.create_pool(
        url.replace("postgresql+asyncpg", "postgresql"), min_size=4, max_size=10
    )
    refused = 0
    warm = int(rate * warmup)

    async def send(i: int) -> None:
        nonlocal refused
        body = mix[i]
        now = datetime.now(UTC)
        async with pool.acquire() as connection, connection.transaction():
            s = await connection.fetchrow(survey.compiled.sql, *survey.args({"ref": SQL_SURVEY}))
            contact = None
            if "email" in body:
                contact = await connection.fetchrow(
                    by_email.compiled.sql, *by_email.args({"email": body["email"]})
                )
            elif "visitor_id" in body:
                contact = await connection.fetchrow(
                    by_visitor.compiled.sql, *by_visitor.args({"visitor_id": body["visitor_id"]})
                )
            lead = None
            if contact is not None and is_negative(
                s["metric"], body["score"], s["scale_min"], s["scale_max"]
            ):
                lead = await follow_up.lock_lead(connection, contact["id"], now)
            key = f"contact:{contact['id']}" if contact else f"visitor:{body.get('visitor_id')}"
            claimed = await connection.fetchrow(claim.compiled.sql, *claim.args({
                "survey_id": s["id"], "respondent": key, "answered_at": now,
                "contact_id": contact["id"] if contact else None,
                "window_start": now - timedelta(days=s["window_days"]),
            }))  # fmt: skip
            if claimed is None:
                refused += 1
                return
            row = {
                "id": new_id(), "survey_id": s["id"], "touchpoint_id": s["touchpoint_id"],
                "metric": s["metric"], "score": body["score"], "scale_min": s["scale_min"],
                "scale_max": s["scale_max"], "comment": body.get("comment"),
                "contact_id": contact["id"] if contact else None,
                "visitor_id": body.get("visitor_id"),
                "persona_id": contact["persona_id"] if contact else None,
                "stage": contact["stage"] if contact else None, "source": "public",
                "site_id": None, "answered_at": now,
            }  # fmt: skip
            await connection.execute(insert.compiled.sql, *insert.args(row))
            if lead is not None:
                await follow_up.open_case(connection, dict(s), row, lead)

    await open_loop(send, rate, warmup)
    latencies = await open_loop(lambda i: send(warm + i), rate, seconds)
    await pool.close()
    return latencies, refused


class FollowUp:
    """The three statements a negative answer of a known contact adds: its lead's new version,
    the case and the case's event, as `surveys.case_opening` sends them."""

    def __init__(self) -> None:
        self.record, self.case, self.event = (
            Compiled(s) for s in (RECORD_LEAD_CHANGE, INSERT_CASE, INSERT_LEAD_EVENT)
        )

    async def lock_lead(self, connection: Any, contact_id: Any, now: datetime) -> dict[str, Any]:
        sql, args = self.record.compiled.sql, self.record.args({"lead_id": contact_id, "now": now})
        return dict(await connection.fetchrow(sql, *args))

    async def open_case(self, connection: Any, survey: dict[str, Any], answer: dict[str, Any],
                        lead: dict[str, Any]) -> None:  # fmt: skip
        now = answer["answered_at"]
        case = {
            "id": new_id(), "answer_id": answer["id"], "contact_id": lead["id"],
            "survey_id": survey["id"], "touchpoint_id": survey["touchpoint_id"],
            "status": "open", "owner": lead["owner"], "note": None, "opened_at": now,
            "due_at": due_at(now, survey["sla_hours"]), "contacted_at": None,
            "resolved_at": None, "updated_at": now, "version": 1,
        }  # fmt: skip
        await connection.execute(self.case.compiled.sql, *self.case.args(case))
        shown = case_read(
            {**answer, **case, "answer_id": answer["id"], "email": lead["email"],
             "survey_slug": survey["slug"], "touchpoint_slug": survey["touchpoint_slug"]},
            now,
        )  # fmt: skip
        event = case_event(LeadEventType.CASE_OPENED, shown, lead, now)
        await connection.execute(self.event.compiled.sql, *self.event.args(event))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=1, help="`inbound serve` processes.")
    parser.add_argument("--rate", type=float, default=300.0, help="Answers per second.")
    parser.add_argument("--duration", type=float, default=30.0, help="Measured seconds per phase.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--contacts", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url_obj = make_url(args.database_url)
    if not url_obj.drivername.startswith("postgresql"):
        raise SystemExit("the benchmark needs PostgreSQL")
    url = url_obj.render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="inbound-bench-surveys-"))
    run(recreate_database(url_obj))
    migrate.upgrade(url)
    admin_key = run(prepare_database(url))
    env = {"INBOUND_LOG_LEVEL": "INFO", "INBOUND_LOG_JSON": "true",
           "INBOUND_SURVEY_RATE_PER_IP": UNLIMITED}  # fmt: skip
    log = work / "server.log"
    total = int(args.rate * (args.warmup + args.duration))
    with serving(url, args.workers, log, env) as (base, _pid):
        world = build_world(base, admin_key)
        run(fill(url, args.contacts))
        print(f"filled: {args.contacts:,} contacts with linked browsers; log in {log}")
        mix = respondents(total, args.contacts, args.seed)
        skip = int(args.rate * args.warmup)
        site_key = world["site"]["public_key"]
        ours, errors = run(answer_phase(base, site_key, mix, args.rate, args.warmup,
                                        args.duration))  # fmt: skip
        bare, bare_errors = run(
            http_phase(base, [("/health", {})], args.rate, args.warmup, args.duration)
        )
        alone, refused = run(sql_phase(url, mix, args.rate, args.warmup, args.duration))
    results = {
        "rate": args.rate, "duration_s": args.duration, "workers": args.workers,
        "errors": errors + bare_errors + refused,
        "answer_client": stats(ours), "answer_server": stats(server_durations(log, ANSWERS, skip)),
        "bare_client": stats(bare), "bare_server": stats(server_durations(log, "/health", skip)),
        "answer_sql": stats(alone),
    }  # fmt: skip
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


ROWS = (
    ("answer_server", "answer, server"),
    ("answer_client", "answer, client"),
    ("bare_server", "bare /health, server"),
    ("bare_client", "bare /health, client"),
    ("answer_sql", "answer SQL alone (asyncpg)"),
)


def report(results: dict[str, Any]) -> None:
    print(f"\n{results['rate']:.0f} requests/s for {results['duration_s']:.0f} s each, "
          f"{results['workers']} server process(es); errors: {results['errors']}")  # fmt: skip
    print(f"{'':28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>7}")
    for key, label in ROWS:
        row = results[key]
        cells = " ".join(f"{row[c] or 0:8.2f}" for c in ("p50_ms", "p99_ms", "max_ms"))
        print(f"{label:28} {cells} {row['n']:7}")
    ours, bare, sql = results["answer_server"], results["bare_server"], results["answer_sql"]
    if ours["p99_ms"] and bare["p99_ms"] and sql["p99_ms"]:
        for name in ("p50_ms", "p99_ms"):
            print(f"{name[:3]} ratios: answer/bare server {ours[name] / bare[name]:.1f}x, "
                  f"answer server/answer SQL {ours[name] / sql[name]:.1f}x")  # fmt: skip
    verdict = "meets" if ours["p99_ms"] is not None and ours["p99_ms"] < 20 else "MISSES"
    print(f"server-side p99 {ours['p99_ms']} ms {verdict} the 20 ms bar")


if __name__ == "__main__":
    main()
