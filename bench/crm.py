"""Contacts synced to HubSpot per second, against the ceiling HubSpot's latency and rate limit
allow.

Fills a fresh PostgreSQL database with `--contacts` contacts (the demo's history, written
straight into the tables), queues them all for the CRM sync, and starts the HubSpot emulator
in a process of its own (`inbound crm emulator`), answering every call `--latency-ms` late
(100 ms: a distant data centre) and allowing `--rate-limit` calls in any 10 seconds, as
HubSpot does for a private app. The sync's property set-up runs first and is not timed; the
benchmark then waits for the emulator's rate window to empty and times the sync's rounds
(read the due contacts, upsert them `--batch` to a call with `--concurrency` calls in flight,
paced by the rate-limit headers, record each call) until every contact is synced.

The ceiling, worked out in the same run for the same number of calls: the earliest each call
could start if calls took exactly the added latency, never more than `--concurrency` were in
flight, and never more than the rate limit started in any 10 seconds. Its contacts per second
is what no client could beat; the ratio of ours to it is the figure (target: at least 0.8).

Usage: .venv/bin/python bench/crm.py [--contacts 30000] [--latency-ms 100] [--rate-limit 100]
"""

import argparse
import asyncio
import collections
import contextlib
import heapq
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from database import fresh_schema
from options import DROPPED, bench_parser
from pydantic import SecretStr
from service import free_port
from sqlalchemy import func, select, text

from inbound.config import Settings
from inbound.crm.queue import QUEUE
from inbound.crm.sync import CrmSync
from inbound.db import create_engine
from inbound.demo.load import load_history

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_crm"
TOKEN = "pat-na1-bench"
INTERVAL_SECONDS = 10.0
TARGET_RATIO = 0.8


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, DROPPED, whole_doc=True)
    parser.add_argument("--contacts", type=int, default=30_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate-limit", type=int, default=100, help="calls per 10 seconds")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    return parser.parse_args()


@contextlib.contextmanager
def emulating(latency_ms: float, rate_limit: int) -> Iterator[str]:
    """The HubSpot emulator in a process of its own; yields its URL."""
    port = free_port()
    inbound = str(Path(sys.executable).parent / "inbound")
    process = subprocess.Popen(
        [inbound, "crm", "emulator", "--port", str(port), "--token", TOKEN,
         "--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        process.stderr.readline()  # "HubSpot emulator on ..."
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def ceiling_seconds(calls: int, latency: float, concurrency: int, limit: int) -> float:
    """The shortest time ``calls`` calls can take: each lasts ``latency``, at most
    ``concurrency`` at once, at most ``limit`` started in any rolling interval."""
    free_at = [0.0] * concurrency  # when each slot is next free
    started: collections.deque[float] = collections.deque()  # starts inside the window
    start = finish = 0.0
    for _ in range(calls):
        # Calls start in order, each as soon as a slot is free and the window has room.
        start = max(start, heapq.heappop(free_at))
        while started and started[0] + INTERVAL_SECONDS <= start:
            started.popleft()
        if len(started) >= limit:
            start = started.popleft() + INTERVAL_SECONDS
        started.append(start)
        heapq.heappush(free_at, start + latency)
        finish = start + latency
    return finish


async def main() -> int:
    args = parse_args()
    await fresh_schema(args.database_url)
    engine = create_engine(args.database_url)
    began = time.perf_counter()
    await load_history(engine, contacts=args.contacts, now=datetime.now(UTC), days=365, seed=1)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO crm_contacts (contact_id, state, generation, due_at, attempts) "
                "SELECT id, 'pending', 1, now(), 0 FROM contacts"
            )
        )
    print(f"{args.contacts:,} contacts loaded and queued in {time.perf_counter() - began:.0f} s")
    with emulating(args.latency_ms, args.rate_limit) as hubspot_url:
        settings = Settings(
            database_url=args.database_url, hubspot_token=SecretStr(TOKEN),
            hubspot_url=hubspot_url, crm_batch_size=args.batch,
            crm_concurrency=args.concurrency, crm_rate_limit=args.rate_limit,
            log_level="WARNING",
        )  # fmt: skip
        setup = CrmSync(engine, settings)
        answer = await setup.set_up_properties()
        setup.close()
        assert answer.ok, answer.message
        # The set-up's calls leave the rate window before the timed run starts.
        await asyncio.sleep(INTERVAL_SECONDS + 1)
        sync = CrmSync(engine, settings)
        began = time.perf_counter()
        try:
            while await sync.step():
                pass
        finally:
            sync.close()
        elapsed = time.perf_counter() - began
    async with engine.connect() as connection:
        synced = await connection.scalar(
            select(func.count()).select_from(QUEUE).where(QUEUE.c.state == "synced")
        )
    await engine.dispose()
    calls = -(-args.contacts // args.batch)
    best = ceiling_seconds(calls, args.latency_ms / 1000, args.concurrency, args.rate_limit)
    ours, ceiling = args.contacts / elapsed, args.contacts / best
    print(
        f"{calls} calls of {args.batch}, {args.concurrency} in flight, "
        f"{args.latency_ms:.0f} ms added per call, {args.rate_limit} calls per 10 s"
    )
    print(f"synced   {synced:,} of {args.contacts:,} in {elapsed:.2f} s: {ours:8.0f} contacts/s")
    print(f"ceiling  {best:.2f} s for the same calls:        {ceiling:8.0f} contacts/s")
    ratio = ours / ceiling
    verdict = "met" if ratio >= TARGET_RATIO and synced == args.contacts else "NOT met"
    print(f"ratio {ratio:.2f}; target >= {TARGET_RATIO}: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
