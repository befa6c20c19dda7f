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
import asyncio
import json
import random
import tempfile
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from capture import (
    ORIGIN,
    percentile,
    plain_engine,
    prepare_database,
    recreate_database,
    run,
    run_sql,
    serving,
)
from http_load import HttpError, Pool, Target
from sqlalchemy import make_url

from inbound import migrate
from inbound.db import utcnow
from inbound.tracking.nbc.signals import refresh_signals
from inbound.tracking.partitions import ensure_partitions

NEXT = "/api/v1/next"
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_nbc"
TOPICS = [f"topic-{i}" for i in range(20)]
PHASES = ("attract", "convert", "close", "delight")
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
SLOTS = ("sidebar", "after-article", "footer")
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


def build_catalog(base: str, admin_key: str, assets: int, rng: random.Random) -> dict[str, Any]:
    """A site, five personas and ``assets`` tagged assets, through the API."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:

        def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
            answer: dict[str, Any] = response.json()
            return answer

        site = created("/api/v1/sites", {"name": "Main", "allowed_origins": [ORIGIN]})
        personas = [created("/api/v1/personas", {"name": f"P{i}", "slug": f"p{i}"})["id"]
                    for i in range(5)]  # fmt: skip
        catalog = []
        for i in range(assets):
            tags = rng.sample(range(5), rng.randint(1, 2))
            body = {"slug": f"asset-{i}", "title": f"Asset {i}", "kind": "blog_post",
                    "funnel_stage": PHASES[i % 4], "topics": rng.sample(TOPICS, 2),
                    "personas": [{"persona": f"p{t}", "relevance": rng.randint(1, 3)}
                                 for t in tags]}  # fmt: skip
            catalog.append(created("/api/v1/assets", body))
        template = httpx.post(
            f"{base}/api/v1/captures",
            json={"asset": "asset-1", "email": "template@bench.example"},
            headers={"Authorization": f"Bearer {site['public_key']}", "Origin": ORIGIN},
        )
        if template.status_code != 201:
            raise RuntimeError(f"capture refused: {template.text}")
    return {"site": site, "personas": personas, "assets": catalog}


async def fill(
    url: str, world: dict[str, Any], contacts: int, events: int, seed: int
) -> dict[str, Any]:
    """Contacts, their linked ids and the events, by COPY; returns the visitors to ask for."""
    rng = random.Random(seed)
    columns = ", ".join(
        c for c in await _contact_columns(url) if c not in ("id", "email", "persona_id", "stage")
    )
    personas = ", ".join(f"'{p}'::uuid" for p in world["personas"])
    stages = ", ".join(f"'{s}'" for s in STAGES)
    await run_sql(
        url,
        f"INSERT INTO contacts (id, email, persona_id, stage, {columns}) "
        f"SELECT bench_uuid(i), 'c' || i || '@bench.example', (ARRAY[{personas}])[1 + i % 5], "
        f"(ARRAY[{stages}])[1 + i % 6], {columns} "
        f"FROM contacts, generate_series(1, {contacts}) AS i "
        "WHERE email = 'template@bench.example'",
    )
    ids = [
        r[0] for r in await _rows(url, "SELECT id FROM contacts WHERE email LIKE 'c%' ORDER BY id")
    ]
    now = datetime.now(UTC)
    identities = [("anonymous", f"a{i}", cid, now) for i, cid in enumerate(ids)]
    identities += [("user", f"u{i}", cid, now) for i, cid in enumerate(ids) if i % 3 == 0]
    anonymous = [f"x{i}" for i in range(contacts * 4)]
    visitors = [f"a{i}" for i in range(len(ids))] + anonymous
    assets = [uuid.UUID(a["id"]) for a in world["assets"]]
    site_id = uuid.UUID(world["site"]["id"])
    engine = plain_engine(url)
    async with engine.begin() as conn:
        await ensure_partitions(conn, [now - timedelta(days=d) for d in range(0, 62, 10)] + [now])
    await engine.dispose()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.copy_records_to_table(
            "visitor_identities", records=identities,
            columns=["kind", "external_id", "contact_id", "linked_at"],
        )  # fmt: skip
        batch: list[tuple[Any, ...]] = []
        for n in range(events):
            who = rng.choice(visitors)
            # Each visitor keeps to a neighbourhood of the catalog: co-visitation has a shape.
            home = zlib.crc32(who.encode()) % len(assets)
            asset = (
                assets[(home + int(rng.expovariate(0.3))) % len(assets)]
                if rng.random() < 0.7
                else None
            )
            at = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
            context = json.dumps({"campaign": {"name": "spring"}} if n % 50 == 0 else {})
            user = (
                f"u{who[1:]}"
                if who.startswith("a") and int(who[1:]) % 3 == 0 and n % 4 == 0
                else None
            )
            batch.append((uuid.uuid4(), at, now, site_id, f"m{n}", "page", None, who, user,
                          None, None, None, asset, "{}", context))  # fmt: skip
            if len(batch) == 50_000:
                await _copy_events(connection, batch)
                batch = []
        await _copy_events(connection, batch)
    finally:
        await connection.close()
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)
    return {
        "contacts": [str(i) for i in ids],
        "linked": visitors[: len(ids)],
        "anonymous": anonymous,
    }


async def _copy_events(connection: asyncpg.Connection, batch: list[tuple[Any, ...]]) -> None:
    columns = ["id", "occurred_at", "received_at", "site_id", "message_id", "type", "event",
               "anonymous_id", "user_id", "url", "referrer", "title", "asset_id", "properties",
               "context"]  # fmt: skip
    await connection.copy_records_to_table("tracking_events", records=batch, columns=columns)


async def _contact_columns(url: str) -> list[str]:
    sql = ("SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts' "
           "ORDER BY ordinal_position")  # fmt: skip
    return [r[0] for r in await _rows(url, sql)]


async def _rows(url: str, sql: str) -> list[Any]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def requests_for(
    people: dict[str, Any], world: dict[str, Any], count: int, seed: int
) -> list[dict[str, Any]]:
    """A mix: known anonymous visitors, contacts, linked browsers, strangers, new visitors."""
    rng = random.Random(seed)
    slugs = [a["slug"] for a in world["assets"]]
    mix: list[dict[str, Any]] = []
    for _ in range(count):
        roll = rng.random()
        params: dict[str, Any] = {"slot": rng.choice(SLOTS), "k": rng.choice((3, 4, 5))}
        if roll < 0.4:
            params["anonymous_id"] = rng.choice(people["anonymous"])
        elif roll < 0.7:
            params["contact_id"] = rng.choice(people["contacts"])
        elif roll < 0.8:
            params["anonymous_id"] = rng.choice(people["linked"])
        elif roll < 0.9:
            params["anonymous_id"] = f"stranger-{rng.randrange(10**9)}"
        if rng.random() < 0.5:
            params["asset"] = rng.choice(slugs)
        mix.append(params)
    return mix


async def open_loop(
    send: Callable[[int], Awaitable[None]], rate: float, seconds: float
) -> list[float]:
    """Call ``send(i)`` on schedule whatever the answers; latencies (ms) from the schedule."""
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    async def one(i: int, due: float) -> None:
        await send(i)
        latencies.append((time.perf_counter() - due) * 1000)

    pending: set[asyncio.Task[None]] = set()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(due - time.perf_counter(), 0))
        task = asyncio.create_task(one(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return latencies


async def http_phase(base: str, requests: Sequence[tuple[str, dict[str, str]]], rate: float,
                     warmup: float, seconds: float) -> tuple[list[float], int]:  # fmt: skip
    """GET each (path, headers) in turn, open loop."""
    pool = Pool(Target(base, {}), 32)
    heads = [f"GET {p} HTTP/1.1\r\n".encode() + Target(base, h).head + b"\r\n\r\n"
             for p, h in requests]  # fmt: skip
    errors = 0

    async def send(i: int) -> None:
        nonlocal errors
        try:
            answer = await pool.send(heads[i % len(heads)])
            errors += answer.status != 200
        except HttpError:
            errors += 1

    await open_loop(send, rate, warmup)
    latencies = await open_loop(send, rate, seconds)
    pool.close()
    return latencies, errors


async def sql_phase(url: str, mix: Sequence[dict[str, Any]], rate: float, warmup: float,
                    seconds: float) -> list[float]:  # fmt: skip
    pool = await asyncpg.create_pool(
        url.replace("postgresql+asyncpg", "postgresql"), min_size=4, max_size=10
    )

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

    await open_loop(send, rate, warmup)
    latencies = await open_loop(send, rate, seconds)
    await pool.close()
    return latencies


def server_durations(log: Path, path: str, skip: int) -> list[float]:
    """`duration_ms` of the access log's lines for ``path``, the first ``skip`` left out."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"path": "{path}"' in line.replace('":"', '": "'):
            with_duration = json.loads(line).get("duration_ms")
            if with_duration is not None:
                found.append(float(with_duration))
    return found[skip:]


def stats(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99),
            "max_ms": round(max(values), 2) if values else None, "n": len(values)}  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=1, help="`inbound serve` processes.")
    parser.add_argument("--rate", type=float, default=200.0, help="Requests per second.")
    parser.add_argument("--duration", type=float, default=30.0, help="Measured seconds per phase.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url_obj = make_url(args.database_url)
    if not url_obj.drivername.startswith("postgresql"):
        raise SystemExit("the benchmark needs PostgreSQL")
    url = url_obj.render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="inbound-bench-nbc-"))
    run(recreate_database(url_obj))
    migrate.upgrade(url)
    admin_key = run(prepare_database(url))
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
        cells = " ".join(f"{row[c] or 0:8.2f}" for c in ("p50_ms", "p99_ms", "max_ms"))
        print(f"{label:28} {cells} {row['n']:7}")
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
