"""Webhook deliveries per second: the worker against a bare client, to one local receiver.

Fills a fresh PostgreSQL database with `--events` lead events (one per contact, so that the
order kept per lead never holds a delivery back) and a subscription to them, starts a
receiver in a process of its own (plain HTTP/1.1, keep-alive, answering 200 at once), and
times `inbound worker`'s rounds (dispatch, claim, signed sends, recording each attempt) until
every delivery has succeeded. The baseline, in the same run, is the ceiling of the sending
side itself: the same signed bodies POSTed by the same httpx client at the same concurrency,
with no database at all. It prints both rates and their ratio, and the rate against its
target of 500 deliveries per second.

Usage: .venv/bin/python bench/webhooks.py [--events 20000] [--concurrency 64]
"""

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from database import fresh_schema, plain_engine
from options import DROPPED, bench_parser
from service import free_port
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.config import Settings
from inbound.db import new_id
from inbound.leads.events import lead_events
from inbound.leads.repository import CONTACTS, LEAD_EVENTS
from inbound.webhooks.delivery import DELIVERIES, SUBSCRIPTIONS, Due, Sender
from inbound.worker import Worker

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_webhooks"
TARGET_PER_SECOND = 500.0
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BATCH = 5000

RECEIVER = """
import asyncio, sys

async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    print("ready", flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


@contextlib.contextmanager
def receiving() -> Iterator[str]:
    """A receiver in a process of its own; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the receiver did not start")
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        process.terminate()
        process.wait(5)


async def fill(engine: AsyncEngine, events: int, url: str) -> None:
    """``events`` contacts, each with one `lead.created` event, and a subscription to it."""
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(SUBSCRIPTIONS).values(
                id=new_id(), url=url, events=["lead.created"], secret=SECRET, active=True,
                created_at=now, updated_at=now, version=1,
            )
        )  # fmt: skip
    for start in range(0, events, BATCH):
        contacts, outbox = [], []
        for n in range(start, min(start + BATCH, events)):
            contact = {
                "id": new_id(), "email": f"c{n}@bench.example", "first_name": "Ana",
                "stage": "lead", "stage_changed_at": now, "lead_at": now, "custom_fields": {},
                "topics": [], "touches": {}, "fit": 0.5, "grade": "B", "score": 50.0,
                "score_at": now, "created_at": now, "updated_at": now, "version": 1,
            }  # fmt: skip
            contacts.append(contact)
            outbox += lead_events(None, contact, score=50.0, at=now)
        async with engine.begin() as connection:
            await connection.execute(insert(CONTACTS), contacts)
            await connection.execute(insert(LEAD_EVENTS), outbox)


async def delivered(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        statement = (
            select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.status == "succeeded")
        )
        return int((await connection.execute(statement)).scalar_one())


async def ours(engine: AsyncEngine, settings: Settings, events: int) -> float:
    """Deliveries per second through the worker, from the outbox to the receiver's answers."""
    worker = Worker(engine, settings)
    try:
        began = time.perf_counter()
        await worker.drain()
        spent = time.perf_counter() - began
    finally:
        await worker.close()
    done = await delivered(engine)
    if done != events:
        raise RuntimeError(f"{done} of {events} deliveries succeeded")
    return events / spent


async def baseline(url: str, events: int, concurrency: int, batch: int) -> float:
    """The same signed POSTs by the same sender, with no database: the sending ceiling."""
    body = b'{"type":"lead.created","timestamp":"2026-11-29T00:00:00Z","data":{"lead":{}}}'
    sender = Sender(concurrency=concurrency, timeout=10, allow_loopback=True)
    try:
        now = datetime.now(UTC)
        dues = [Due(uuid.uuid4(), uuid.uuid4(), 0, now, now, url, SECRET, body)
                for _ in range(batch)]  # fmt: skip
        began = time.perf_counter()
        sent = 0
        while sent < events:
            outcomes = await sender.send_all(dues[: events - sent])
            if not all(outcome.delivered for outcome in outcomes):
                raise RuntimeError("the receiver refused a baseline request")
            sent += len(outcomes)
        return events / (time.perf_counter() - began)
    finally:
        await sender.close()


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, DEFAULT_URL, DROPPED, whole_doc=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    return parser.parse_args()


async def main() -> int:
    args = parse_args()

    await fresh_schema(args.database_url)
    engine = plain_engine(args.database_url)
    settings = Settings(
        database_url=args.database_url, webhook_concurrency=args.concurrency,
        webhook_batch=args.batch, webhook_allow_loopback=True,  # the receiver is local
        log_level="WARNING", worker_in_process=False,
    )  # fmt: skip
    try:
        with receiving() as url:
            await fill(engine, args.events, url)
            print(f"{args.events:,} events, {args.batch} a round, {args.concurrency} at once, "
                  f"{os.cpu_count()} cores")  # fmt: skip
            rate = await ours(engine, settings, args.events)
            ceiling = await baseline(url, args.events, args.concurrency, args.batch)
    finally:
        await engine.dispose()
    ratio = rate / ceiling
    print(f"worker      {rate:8.0f} deliveries/s")
    print(f"bare client {ceiling:8.0f} deliveries/s (same client, no database)")
    print(f"ratio {ratio:.2f}; target >= {TARGET_PER_SECOND:.0f}/s: "
          f"{'met' if rate >= TARGET_PER_SECOND else 'MISSED'}")  # fmt: skip
    return 0 if rate >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
