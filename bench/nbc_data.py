"""The next-best-content bench's data: a catalog set up through the API, contacts with linked
ids and a million events copied in, and the mix of requests to send."""

import json
import random
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from database import TEMPLATE_EMAIL, copy_contact_sql, dsn_of, fetch, plain_engine, run_sql
from service import ORIGIN, admin_api, capture_as_page

from inbound.tracking.partitions import ensure_partitions

TOPICS = [f"topic-{i}" for i in range(20)]
PHASES = ("attract", "convert", "close", "delight")
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
SLOTS = ("sidebar", "after-article", "footer")


def build_catalog(base: str, admin_key: str, assets: int, rng: random.Random) -> dict[str, Any]:
    """A site, five personas and ``assets`` tagged assets, through the API."""
    with admin_api(base, admin_key) as created:
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
    capture_as_page(base, site["public_key"], {"asset": "asset-1", "email": TEMPLATE_EMAIL})
    return {"site": site, "personas": personas, "assets": catalog}


async def fill(
    url: str, world: dict[str, Any], contacts: int, events: int, seed: int
) -> dict[str, Any]:
    """Contacts, their linked ids and the events, by COPY; returns the visitors to ask for."""
    rng = random.Random(seed)
    personas = ", ".join(f"'{p}'::uuid" for p in world["personas"])
    stages = ", ".join(f"'{s}'" for s in STAGES)
    spread = {"persona_id": f"(ARRAY[{personas}])[1 + i % 5]",
              "stage": f"(ARRAY[{stages}])[1 + i % 6]"}  # fmt: skip
    await run_sql(url, copy_contact_sql(contacts, spread))
    ids = [
        r[0] for r in await fetch(url, "SELECT id FROM contacts WHERE email LIKE 'c%' ORDER BY id")
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
    connection = await asyncpg.connect(dsn_of(url))
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
