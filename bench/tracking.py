"""Events per second through `/api/v1/batch`, against COPY of the same rows into the same table.

It builds a fresh PostgreSQL database, starts the service (`inbound serve`) as a subprocess,
and posts batches of 100 events from several concurrent keep-alive clients (`http_load.py`)
for tens of seconds; every batch has new message ids, and only answers that say all 100 were
accepted count. Then, in the same run and on the same table, it COPYs the same number of rows
in transactions of the writer's size: the database's own ceiling. It prints both and their
ratio. Last, the durability check: batches are sent while the server is killed (`kill -9`, then
SIGTERM), and every message id acknowledged must be in the database, every batch whole or
absent.

Usage: .venv/bin/python bench/tracking.py [--duration 20] [--clients 16] [--workers 1]
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from database import dsn_of, fresh_schema, prepare_database
from http_load import Connection, HttpError, Target
from service import free_port, run, serving

from inbound.tracking.repository import COLUMNS

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench_tracking"
ORIGIN = "https://www.example.com"
UNLIMITED = "1000000000/second"
BAR = 20_000
MARK = b"@@MID@@"


def event_template(batch: int) -> list[bytes]:
    """A batch of page and track events as analytics.js sends them, cut where ids go."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events = []
    for i in range(batch):
        kind = "page" if i % 3 == 0 else "track"
        events.append(
            {
                "type": kind,
                "messageId": MARK.decode(),
                "anonymousId": f"anon-{i % 17:04d}-6f1c2b7e",
                **({"name": "Pricing"} if kind == "page" else {"event": "Content Viewed"}),
                "properties": {"url": "https://www.example.com/pricing?utm_source=news",
                               "title": "Pricing", "asset": "scoring-ebook"},
                "context": {"page": {"path": "/pricing", "referrer": "https://www.google.com/"},
                            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
                            "locale": "en-US", "library": {"name": "analytics.js",
                                                           "version": "npm:next-1.76.0"}},
                "timestamp": now,
                "sentAt": now,
            }
        )  # fmt: skip
    return msgspec.json.encode({"batch": events}).split(MARK)


def bodies(parts: list[bytes], prefix: str) -> Iterator[tuple[bytes, list[str]]]:
    """Batch bodies with new message ids, and those ids."""
    n = 0
    while True:
        ids = [f"{prefix}-{n}-{i}" for i in range(len(parts) - 1)]
        chunks = [parts[0]]
        for mid, part in zip(ids, parts[1:], strict=True):
            chunks += [mid.encode(), part]
        n += 1
        yield b"".join(chunks), ids


def cpu_seconds(pid: int) -> float:
    """Processor time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_site(base: str, admin_key: str) -> str:
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:
        site = client.post(
            "/api/v1/sites",
            json={"name": "Bench", "allowed_origins": [ORIGIN], "tracking_consent": "granted"},
        ).json()
        client.post(
            "/api/v1/assets",
            json={"title": "Scoring", "slug": "scoring-ebook", "kind": "ebook",
                  "funnel_stage": "convert", "url": "https://www.example.com/pricing"},
        ).raise_for_status()  # fmt: skip
    return str(site["public_key"])


async def load(
    base: str, key: str, clients: int, seconds: float, acked: list[str] | None = None
) -> tuple[int, float, float]:
    """Closed loop: each client posts its next batch once the last is answered; the events
    acknowledged, the seconds it ran and the client's CPU seconds."""
    target = Target(f"{base}/api/v1/batch", {"Authorization": f"Bearer {key}"})
    parts = event_template(100)
    deadline = time.perf_counter() + seconds
    done = [0]

    async def client(number: int) -> None:
        connection = Connection(target)
        for body, ids in bodies(parts, f"{uuid.uuid4().hex[:8]}-{number}"):
            if time.perf_counter() > deadline:
                break
            try:
                answer = await connection.send(target.post(body))
            except (HttpError, OSError):
                if acked is None:
                    raise
                return  # the server went away: what it acknowledged is what counts
            if answer.status == 200 and b'"accepted":100,' in answer.body:
                done[0] += len(ids)
                if acked is not None:
                    acked.extend(ids)
            elif acked is None:
                raise RuntimeError(f"{answer.status}: {answer.body[:300]!r}")
        connection.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(i) for i in range(clients)), return_exceptions=acked is not None)
    return done[0], time.perf_counter() - started, time.process_time() - cpu


async def copy_ceiling(url: str, rows: int, per_transaction: int) -> float:
    """Rows per second that COPY itself stores into the events table, same rows and sizes."""
    connection = await asyncpg.connect(dsn_of(url))
    now = datetime.now(UTC)
    site = uuid.uuid4()
    props = msgspec.json.encode(
        {"url": "https://www.example.com/pricing?utm_source=news", "title": "Pricing",
         "asset": "scoring-ebook"}
    ).decode()  # fmt: skip
    context = msgspec.json.encode(
        {"page": {"path": "/pricing"}, "userAgent": "Mozilla/5.0", "locale": "en-US"}
    ).decode()
    values: dict[str, Any] = {
        "occurred_at": now, "received_at": now, "site_id": site, "type": "track",
        "event": "Content Viewed", "anonymous_id": "anon-0001-6f1c2b7e", "user_id": None,
        "url": "https://www.example.com/pricing?utm_source=news", "referrer": None,
        "title": "Pricing", "asset_id": None, "properties": props, "context": context,
    }  # fmt: skip
    # Built before the clock starts: what is timed is the database taking the rows.
    batches = [
        [
            tuple(uuid.uuid4() if c == "id" else f"copy-{start}-{i}" if c == "message_id"
                  else values[c] for c in COLUMNS)
            for i in range(per_transaction)
        ]
        for start in range(0, rows, per_transaction)
    ]  # fmt: skip
    started = time.perf_counter()
    for batch in batches:
        async with connection.transaction():
            await connection.copy_records_to_table(
                "tracking_events", records=batch, columns=COLUMNS
            )
    elapsed = time.perf_counter() - started
    await connection.close()
    return rows / elapsed


async def stored_ids(url: str, ids: list[str]) -> set[str]:
    connection = await asyncpg.connect(dsn_of(url))
    found = await connection.fetch(
        "SELECT message_id FROM tracking_events WHERE message_id = ANY($1::text[])", ids
    )
    await connection.close()
    return {row["message_id"] for row in found}


async def whole_batches(url: str) -> bool:
    """Every batch stored whole or not at all (ids are `<client>-<batch>-<index>`)."""
    connection = await asyncpg.connect(dsn_of(url))
    counts = await connection.fetch(
        "SELECT regexp_replace(message_id, '-[0-9]+$', '') AS batch, count(*) AS n "
        "FROM tracking_events WHERE message_id NOT LIKE 'copy-%' GROUP BY 1"
    )
    await connection.close()
    return all(row["n"] == 100 for row in counts)


def wait_until_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError("the service did not become healthy")


def durability(url: str, admin_key: str, key: str, how: signal.Signals, log: Path) -> None:
    """Send batches, stop the server with ``how`` mid-load, check every acknowledged id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    env.update(
        INBOUND_DATABASE_URL=url,
        INBOUND_LOG_LEVEL="WARNING",
        INBOUND_TRACKING_RATE_PER_IP=UNLIMITED,
        INBOUND_WORKER_IN_PROCESS="false",
    )
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "inbound", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base)
        acked: list[str] = []

        async def run_and_stop() -> None:
            sending = asyncio.create_task(load(base, key, 8, 30, acked))
            await asyncio.sleep(3)
            process.send_signal(how)
            await sending

        run(run_and_stop())
        process.wait(timeout=30)
    found = run(stored_ids(url, acked))
    missing = len(acked) - len(found & set(acked))
    whole = run(whole_batches(url))
    verdict = "PASS" if acked and not missing and whole else "FAIL"
    print(f"durability, {how.name}: {len(acked):,} events acknowledged, {missing} missing, "
          f"batches {'all whole' if whole else 'HALF-WRITTEN'}: {verdict}")  # fmt: skip
    if verdict == "FAIL":
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-durability", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    run(fresh_schema(url))
    admin_key = run(prepare_database(url))
    log = Path(f"/tmp/bench-tracking-{os.getpid()}.log")
    env = {"INBOUND_TRACKING_RATE_PER_IP": UNLIMITED}
    with serving(url, args.workers, log, env) as (base, pid):
        key = make_site(base, admin_key)
        run(load(base, key, args.clients, args.warmup))
        served_before = cpu_seconds(pid)
        events, elapsed, cpu = run(load(base, key, args.clients, args.duration))
        served = cpu_seconds(pid) - served_before
    ours = events / elapsed
    ceiling = run(copy_ceiling(url, max(events, 100_000), 2_000))
    print(f"ours:  {ours:,.0f} events/s through /api/v1/batch ({args.clients} clients, "
          f"{args.workers} worker(s), {elapsed:.0f} s, client CPU {cpu / max(events, 1) * 1e6:.1f} "
          f"µs per event)")  # fmt: skip
    print(f"       the service spent {served / max(events, 1) * 1e6:.1f} µs of CPU per event "
          f"({events / max(served, 1e-9):,.0f} events per CPU second)")  # fmt: skip
    print(f"COPY:  {ceiling:,.0f} events/s (same rows, same table, 2,000 per transaction)")
    print(f"ratio: {ours / ceiling:.2f} of COPY; bar {BAR:,} events/s: "
          f"{'PASS' if ours >= BAR else 'FAIL'}")  # fmt: skip
    if not args.no_durability:
        durability(url, admin_key, key, signal.SIGKILL, log)
        durability(url, admin_key, key, signal.SIGTERM, log)


if __name__ == "__main__":
    main()
