"""Background re-mapping at scale: how long a pass over 100,000 contacts takes, and what it
costs requests served meanwhile.

Usage: .venv/bin/python bench/remap.py [--contacts 100000] [--database-url URL]

It builds a fresh PostgreSQL database, fills it with contacts whose profiles match the
personas in varied ways, changes a persona's rules, and times one re-mapping pass. Meanwhile
a client reads a lead through the HTTP API in a loop; its latency during the pass is printed
as a ratio to its latency with the service idle (the baseline, measured in the same run).
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from database import recreate_database
from service import serving
from sqlalchemy import insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import create_engine, create_sessionmaker, new_id, utcnow
from inbound.leads.models import Contact

TITLES = ["IT Director", "CIO", "Head of IT", "Marketing Manager", "CMO", "Developer",
          "Founder", "Sales Director", "Analyst", "Office Manager"]  # fmt: skip
INDUSTRIES = ["software", "retail", "finance", "health", "education"]


async def fill(url: str, contacts: int) -> str:
    """Three personas and ``contacts`` contacts; return an admin key."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        _, key = await ApiKeyService(session).issue(name="bench", scopes=[Scope.ADMIN])
        await session.commit()
    async with engine.begin() as conn:
        personas = (
            ("it-director", ["director", "cio", "head of it"]),
            ("marketer", ["marketing", "cmo"]),
            ("builder", ["developer"]),
        )
        for slug, terms in personas:
            rules = [{"field": "job_title", "operator": "contains_any", "values": terms,
                      "weight": 2.0},
                     {"field": "company_size", "operator": "between", "min": 50, "max": None,
                      "weight": 1.0}]  # fmt: skip
            await conn.execute(
                text(
                    "INSERT INTO personas (id, slug, name, goals, pain_points, rules, priority,"
                    " archived, created_at, updated_at, version) VALUES (:id, :slug, :slug,"
                    " '[]', '[]', CAST(:rules AS JSONB), 0, false, now(), now(), 1)"
                ),
                {"id": new_id(), "slug": slug, "rules": json.dumps(rules)},
            )
        now = utcnow()
        rng = random.Random(7)
        for start in range(0, contacts, 5000):
            rows = []
            for i in range(start, min(start + 5000, contacts)):
                rows.append({
                    "id": new_id(), "email": f"c{i}@bench.example", "stage": "lead",
                    "stage_changed_at": now, "lead_at": now, "subscriber_at": now,
                    "job_title": rng.choice(TITLES), "industry": rng.choice(INDUSTRIES),
                    "company_size": rng.choice([5, 20, 80, 400, 3000]), "custom_fields": {},
                    "topics": [], "touches": {}, "fit": 0.0, "grade": "D", "score": 0.0,
                    "created_at": now, "updated_at": now, "version": 1,
                })  # fmt: skip
            await conn.execute(insert(Contact), rows)
    await engine.dispose()
    return key


async def latency_while(url: str, headers: dict[str, str], stop: asyncio.Event) -> list[float]:
    """Read a page of sites through the API until ``stop``; each request's milliseconds."""
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get("/api/v1/sites")
            response.raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.005)
    return samples


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_remap"
    )
    args = parser.parse_args()
    base = make_url(args.database_url)
    asyncio.run(recreate_database(base))
    url = base.render_as_string(hide_password=False)
    migrate.upgrade(url)
    print(f"filling {args.contacts:,} contacts ...", flush=True)
    key = asyncio.run(fill(url, args.contacts))
    with tempfile.TemporaryDirectory(prefix="inbound-remap-") as logs:
        for mode, terms in (("in the API process", ["marketing", "cmo", "founder"]),
                            ("in a process of its own", ["marketing"])):  # fmt: skip
            own_process = mode == "in a process of its own"
            interval = {"INBOUND_REMAP_INTERVAL_SECONDS": "0" if own_process else "1"}
            log = Path(logs) / f"serve-{len(mode)}.log"
            # The service answers /health before a request is timed: a pass started by a
            # process that is still importing would be timed against connection errors.
            with serving(url, 1, log, interval) as (server_url, _), watching(url, own_process):
                asyncio.run(phase(url, server_url, key, mode, terms))


@contextlib.contextmanager
def watching(url: str, wanted: bool) -> Iterator[None]:
    """``inbound leads remap --watch`` beside the service while the block runs, if ``wanted``."""
    if not wanted:
        yield
        return
    env = {**os.environ, "INBOUND_DATABASE_URL": url, "INBOUND_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "inbound", "leads", "remap", "--watch", "--interval", "1"]
    process = subprocess.Popen(command, env=env)
    try:
        yield
    finally:
        process.terminate()
        process.wait(15)


async def phase(url: str, server_url: str, key: str, mode: str, terms: list[str]) -> None:
    """Change a persona's rules and time the pass that follows, re-mapping as ``mode`` says."""
    engine = create_engine(url)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        done = await wait_for_runs(engine, 0, settle=True)  # whatever was pending is done
        stop = asyncio.Event()
        idle_task = asyncio.create_task(latency_while(server_url, headers, stop))
        await asyncio.sleep(3)
        stop.set()
        idle = await idle_task
        async with engine.begin() as conn:  # a persona's rules change: everyone is re-mapped
            await conn.execute(
                text("UPDATE personas SET rules = CAST(:rules AS JSONB) WHERE slug = 'marketer'"),
                {"rules": json.dumps([{"field": "job_title", "operator": "contains_any",
                                       "values": terms, "weight": 2.0}])},
            )  # fmt: skip
        stop = asyncio.Event()
        busy_task = asyncio.create_task(latency_while(server_url, headers, stop))
        checked, changed, seconds = await wait_for_runs(engine, done + 1)
        stop.set()
        busy = await busy_task
    finally:
        await engine.dispose()
    print(f"\nre-mapping {mode}:")
    print(f"  {checked:,} contacts ({changed:,} changed) in {seconds:.1f} s: "
          f"{checked / seconds:,.0f} contacts/s")  # fmt: skip
    print(f"  API latency idle:        p50 {pct(idle, 50):.2f} ms  p99 {pct(idle, 99):.2f} ms")
    print(f"  API latency during pass: p50 {pct(busy, 50):.2f} ms  p99 {pct(busy, 99):.2f} ms")
    print(f"  ratio during/idle:       p50 {pct(busy, 50) / pct(idle, 50):.2f}  "
          f"p99 {pct(busy, 99) / pct(idle, 99):.2f}", flush=True)  # fmt: skip


async def wait_for_runs(engine: AsyncEngine, count: int, *, settle: bool = False) -> Any:
    """Wait until ``count`` passes finished; the last one's counts and duration.

    With ``settle``, wait instead until no pass is running and return how many finished.
    """
    while True:
        if settle:
            await asyncio.sleep(3)
            async with engine.connect() as conn:
                running, finished = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FILTER (WHERE finished_at IS NULL),"
                            " count(*) FILTER (WHERE finished_at IS NOT NULL) FROM remap_runs"
                        )
                    )
                ).one()
            if not running:
                return finished
            continue
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT checked, changed, started_at, finished_at FROM remap_runs"
                        " WHERE finished_at IS NOT NULL ORDER BY started_at"
                    )
                )
            ).all()
        if len(rows) >= count:
            checked, changed, started, finished = rows[-1]
            return checked, changed, (finished - started).total_seconds()
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    main()
