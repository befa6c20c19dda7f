"""What the identity hook adds to the event writer's batch transaction, against the batch alone.

Usage: .venv/bin/python bench/identity_hook.py [--batches 30] [--batch 1000] [--known 0.1]
                                               [--database-url URL]

It builds a fresh PostgreSQL database with 2,000 contacts, each linked to one anonymous id,
then stores batches of page views (a `--known` share from linked ids, the rest from strangers,
and one identify call in a hundred) twice over: once with the plain insert alone (the
baseline: what the writer does without the hook), once with the insert and `events_stored` in
the same transaction. It prints events per second for both and their ratio.
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from inbound import migrate
from inbound.db import new_id, utcnow
from inbound.leads.models import Contact
from inbound.tracking.hooks import events_stored
from inbound.tracking.models import VisitorIdentity
from inbound.tracking.repository import insert_events

CONTACTS = 2_000


async def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    engine = create_async_engine(admin, poolclass=NullPool)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    await engine.dispose()


async def seed(engine: AsyncEngine) -> list[str]:
    """Contacts, each with one linked anonymous id; the ids."""
    now = utcnow()
    contacts = [
        {"id": new_id(), "email": f"c{n}@example.com", "stage": "lead", "created_at": now,
         "updated_at": now, "stage_changed_at": now}
        for n in range(CONTACTS)
    ]  # fmt: skip
    ids = [f"known-{n}" for n in range(CONTACTS)]
    async with engine.begin() as conn:
        await conn.execute(insert(Contact), contacts)
        await conn.execute(
            insert(VisitorIdentity),
            [{"kind": "anonymous", "external_id": external_id, "contact_id": c["id"],
              "linked_at": now} for external_id, c in zip(ids, contacts, strict=True)],
        )  # fmt: skip
    return ids


def batch(site_id: uuid.UUID, size: int, known: list[str], share: float) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for n in range(size):
        anonymous_id = random.choice(known) if random.random() < share else f"s-{uuid.uuid4()}"
        rows.append(
            {"id": new_id(), "occurred_at": now - timedelta(seconds=n), "received_at": now,
             "site_id": site_id, "message_id": f"m-{uuid.uuid4()}",
             "type": "identify" if n % 100 == 0 else "page", "event": None,
             "anonymous_id": anonymous_id, "user_id": None, "url": "https://example.com/p",
             "referrer": None, "title": "A page", "asset_id": None, "properties": {},
             "context": {}}
        )  # fmt: skip
    return rows


async def timed(engine: AsyncEngine, batches: list[list[dict[str, Any]]], hook: bool) -> float:
    """Events per second stored, one transaction per batch."""
    started = time.perf_counter()
    for rows in batches:
        async with engine.begin() as conn:
            await insert_events(conn, rows)
            if hook:
                await events_stored(conn, rows)
    return sum(len(rows) for rows in batches) / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    await recreate(args.database_url)
    await asyncio.to_thread(migrate.upgrade, args.database_url)
    engine = create_async_engine(args.database_url, pool_size=2)
    known = await seed(engine)
    site_id = uuid.uuid4()
    warm = [batch(site_id, args.batch, known, args.known) for _ in range(3)]
    await timed(engine, warm, hook=True)
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):  # alternate, so that a busy moment hits both
        for hook in (False, True):
            batches = [batch(site_id, args.batch, known, args.known) for _ in range(args.batches)]
            rates[hook].append(await timed(engine, batches, hook))
    await engine.dispose()
    plain, hooked = max(rates[False]), max(rates[True])
    print(f"batches of {args.batch} events, {args.known:.0%} from linked ids, 1% identify calls")
    print(f"insert alone:       {plain:10.0f} events/s (best of 3)")
    print(f"insert + the hook:  {hooked:10.0f} events/s (best of 3)")
    print(f"ratio:              {hooked / plain:10.3f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_hook"
    )
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--known", type=float, default=0.1)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
