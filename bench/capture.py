"""Lead captures per second and their latency, through the real HTTP stack, against pgbench.

Usage: .venv/bin/python bench/capture.py [--concurrency 1,8,32,64] [--workers 1,2]
                                         [--json out.json] [--database-url URL]

It builds a fresh PostgreSQL database, starts the service as a subprocess and posts lead
captures to it (70% new emails, 30% returning ones) from a lean HTTP/1.1 client in this
process (`http_load.py`): closed-loop at each concurrency, then open-loop at a fixed rate
(300/s) for the latency target. Between the runs, pgbench runs the same SQL transaction a
capture runs, at the same concurrency on the same database, and the ratio of the two
throughputs is printed.

The pgbench script is built from the service's own compiled capture statements and the values
it stored; one new and one returning capture are also posted to a server with statement
logging on, and the script's statements are compared with the ones it logged, any difference
reported.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from http_load import Answer, Connection, HttpError, Pool, Target
from sqlalchemy import make_url, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import inbound.models  # noqa: F401  (maps every table before the first flush)
from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import create_sessionmaker
from inbound.leads.capture.statements import (
    INSERT_CAPTURE,
    INSERT_CONTACT,
    INSERT_SCORE_EVENT,
    INSERT_STAGE_CHANGE,
    LOCK_CONTACT_BY_EMAIL,
    POINTS_SINCE,
    UPDATE_CONTACT,
)
from inbound.leads.events import INSERT_LEAD_EVENT
from inbound.leads.repository import CAPTURES as CAPTURE_ROWS
from inbound.leads.repository import CONTACTS, LEAD_EVENTS, SCORE_EVENTS, STAGE_CHANGES
from inbound.lean_sql import LeanStatement

CAPTURES = "/api/v1/captures"
ORIGIN = "https://www.example.com"
ASSET_SLUG = "lead-scoring-ebook"
EMAIL_DOMAIN = "bench.example"
TEMPLATE_EMAIL = f"template@{EMAIL_DOMAIN}"
HTTP_NEW_IDS = 10**13  # emails c<n>@...: 1..N returning, pgbench's new ones 10^12..2*10^12
PGBENCH_NEW_IDS = (10**12, 2 * 10**12 - 1)
UNLIMITED = "1000000000/second"
FORM: dict[str, Any] = {
    "asset": ASSET_SLUG,
    "email": None,
    "first_name": "Ana",
    "last_name": "Silva",
    "company": "Acme Logistics",
    "job_title": "IT Director",
    "company_size": 250,
    "country": "PT",
    "industry": "logistics",
    "consent": True,
    "consent_text_version": "2026-01",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "scoring-launch",
    "referrer": "https://www.example.com/blog/lead-scoring",
    "page_url": "https://www.example.com/resources/lead-scoring",
}
PERSONAS: list[dict[str, Any]] = [
    {"slug": "it-director", "name": "IT Director", "rules": [
        {"field": "job_title", "operator": "contains_any", "values": ["director", "cio"],
         "weight": 2.0},
        {"field": "company_size", "operator": "between", "min": 100, "weight": 1.0}]},
    {"slug": "marketer", "name": "Marketer", "rules": [
        {"field": "job_title", "operator": "contains_any", "values": ["marketing", "cmo"],
         "weight": 2.0},
        {"field": "industry", "operator": "one_of", "values": ["retail", "media"],
         "weight": 1.0}]},
    {"slug": "developer", "name": "Developer", "rules": [
        {"field": "job_title", "operator": "contains_any", "values": ["developer", "engineer"],
         "weight": 2.0}]},
]  # fmt: skip
ASSET: dict[str, Any] = {
    "slug": ASSET_SLUG,
    "title": "Lead Scoring E-book",
    "kind": "ebook",
    "funnel_stage": "convert",
    "topics": ["lead scoring", "crm"],
    "gated": True,
    "delivery_url": "https://cdn.example.com/lead-scoring.pdf",
    "form_fields": [{"name": n} for n in ("email", "first_name", "company", "job_title")],
    "personas": [{"persona": "it-director", "relevance": 3}, {"persona": "marketer"}],
}
# Ids that pgbench makes in SQL: time-ordered like the service's UUIDv7, from a random seed.
BENCH_UUID = """
CREATE OR REPLACE FUNCTION bench_uuid(seed bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7'
          || lpad(to_hex(seed), 19, '0'))::uuid
$$"""


T = TypeVar("T")
Send = Callable[[bytes], Awaitable[Answer]]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is there (a leaner client), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


# -- the database ----------------------------------------------------------------------------


def plain_engine(url: str) -> AsyncEngine:
    """An engine that keeps no idle connections, so that it takes none from the load."""
    return create_async_engine(url, poolclass=NullPool)


async def recreate_database(url: URL) -> None:
    engine = plain_engine(url.set(database="postgres").render_as_string(hide_password=False))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    await engine.dispose()


async def prepare_database(url: str) -> str:
    """Add the id function pgbench uses; issue and return an admin key."""
    engine = plain_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(BENCH_UUID))
    async with create_sessionmaker(engine)() as session, session.begin():
        _, plain = await ApiKeyService(session).issue(name="bench", scopes=[Scope.ADMIN])
    await engine.dispose()
    return plain


async def run_sql(url: str, *statements: str, autocommit: bool = False) -> list[Any]:
    """Run statements in order; return the first column of each one's first row, if any."""
    engine = plain_engine(url)
    found: list[Any] = []
    async with engine.connect() as conn:
        if autocommit:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            result = await conn.execute(text(statement))
            row = result.first() if result.returns_rows else None
            found.append(row[0] if row is not None else None)
        if not autocommit:
            await conn.commit()
    await engine.dispose()
    return found


async def row_counts(url: str) -> dict[str, int]:
    tables = ("contacts", "captures", "stage_changes", "score_events")
    counts = await run_sql(url, *(f"SELECT count(*) FROM {t}" for t in tables))
    return dict(zip(tables, (int(c) for c in counts), strict=True))


async def seed_returning_contacts(url: str, count: int) -> None:
    """Copy the template contact (captured twice) into c1..c<count>, the returning visitors."""
    columns = [c.name for c in CONTACTS.columns if c.name not in ("id", "email")]
    names = ", ".join(columns)
    await run_sql(
        url,
        f"INSERT INTO contacts (id, email, {names}) "
        f"SELECT bench_uuid(i), 'c' || i || '@{EMAIL_DOMAIN}', {names} "
        f"FROM contacts, generate_series(1, {count}) AS i WHERE email = '{TEMPLATE_EMAIL}'",
    )
    await run_sql(url, "VACUUM ANALYZE", autocommit=True)


@dataclass(frozen=True)
class Templates:
    """Rows the service wrote, whose values pgbench writes again."""

    new_contact: dict[str, Any]  # a contact just created by its first capture
    returning_contact: dict[str, Any]  # a returning visitor's contact after one more capture
    capture: dict[str, Any]
    stage_change: dict[str, Any]
    score_event: dict[str, Any]
    new_events: list[dict[str, Any]]  # the outbox rows of a new contact's first capture
    returning_events: list[dict[str, Any]]  # and of a returning contact's capture


async def events_of(url: str, contact: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outbox rows the contact's last change wrote, in order."""
    engine = plain_engine(url)
    async with engine.connect() as conn:
        found = await conn.execute(
            select(LEAD_EVENTS)
            .where(
                LEAD_EVENTS.c.lead_id == contact["id"],
                LEAD_EVENTS.c.lead_version == contact["version"],
            )
            .order_by(LEAD_EVENTS.c.seq)
        )
        rows = [dict(row) for row in found.mappings()]
    await engine.dispose()
    return rows


async def rows_of_capture(url: str, capture_id: str) -> dict[str, dict[str, Any] | None]:
    """A capture, its contact as it stands now, and the stage change and score it made."""
    engine = plain_engine(url)
    captures, contacts, stages, scores = CAPTURE_ROWS, CONTACTS, STAGE_CHANGES, SCORE_EVENTS
    async with engine.connect() as conn:

        async def row(statement: Any) -> dict[str, Any] | None:
            found = (await conn.execute(statement)).mappings().first()
            return dict(found) if found is not None else None

        capture = await row(select(captures).where(captures.c.id == capture_id))
        if capture is None:
            raise RuntimeError(f"capture {capture_id} not found")
        rows = {
            "capture": capture,
            "contact": await row(select(contacts).where(contacts.c.id == capture["contact_id"])),
            "stage_change": await row(select(stages).where(stages.c.capture_id == capture_id)),
            "score_event": await row(select(scores).where(scores.c.capture_id == capture_id)),
        }
    await engine.dispose()
    return rows


# -- the service -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    url: str, workers: int, log_path: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """The service on a free port; yields its base URL and process id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    env.update(
        INBOUND_DATABASE_URL=url,
        INBOUND_LOG_LEVEL="WARNING",
        INBOUND_CAPTURE_RATE_PER_IP=UNLIMITED,
        INBOUND_CAPTURE_RATE_PER_KEY=UNLIMITED,
        INBOUND_REMAP_INTERVAL_SECONDS="0",
        # What is timed is the request path: workers deliver the outbox elsewhere.
        INBOUND_WORKER_IN_PROCESS="false",
    )
    env.update(extra_env or {})
    script = Path(sys.executable).with_name("inbound")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "inbound"]
    port = free_port()
    command += ["serve", "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited with {process.returncode}: {log_path}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the service did not become healthy: {log_path}")
                time.sleep(0.1)
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class World:
    """What the load needs: the site's public key and the gated asset."""

    public_key: str
    asset_id: str


def build_world(base: str, admin_key: str) -> World:
    """A site, three personas with rules and a gated asset tagged to two of them."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:

        def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
            answer: dict[str, Any] = response.json()
            return answer

        site = created("/api/v1/sites", {"name": "Main site", "allowed_origins": [ORIGIN]})
        for persona in PERSONAS:
            created("/api/v1/personas", persona)
        asset = created("/api/v1/assets", ASSET)
    return World(site["public_key"], asset["id"])


def site_headers(world: World) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {world.public_key}",
        "Content-Type": "application/json",
        "Origin": ORIGIN,
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
    }


def capture_once(base: str, world: World, email: str) -> str:
    body = {**FORM, "email": email}
    response = httpx.post(f"{base}{CAPTURES}", json=body, headers=site_headers(world), timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"capture refused: {response.status_code} {response.text}")
    capture_id: str = response.json()["capture_id"]
    return capture_id


# -- the SQL of one capture, as the service logs it ------------------------------------------

_ENGINE_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO sqlalchemy\.engine\.Engine (.*)$"
)
_OTHER_LINE = re.compile(r"^(\{|\d{4}-\d\d-\d\dT)")  # the service's own log lines


def logged_statements(log: str) -> list[str]:
    """The SQL statements in a log written with statement logging on, in order."""
    statements: list[str] = []
    current: list[str] | None = None
    for line in log.splitlines():
        match = _ENGINE_LINE.match(line)
        if match or _OTHER_LINE.match(line):
            if current is not None:
                statements.append(" ".join(" ".join(current).split()))
            message = match.group(1) if match else "["
            current = None if message.startswith("[") else [message]
        elif current is not None:
            current.append(line)
    if current is not None:
        statements.append(" ".join(" ".join(current).split()))
    return statements


def capture_transactions(statements: Sequence[str]) -> list[list[str]]:
    """The transactions that inserted a capture, each from BEGIN to COMMIT."""
    found: list[list[str]] = []
    current: list[str] = []
    for statement in statements:
        if statement.startswith("BEGIN"):
            current = [statement]
            continue
        current.append(statement)
        if statement in ("COMMIT", "ROLLBACK"):
            if any(s.startswith("INSERT INTO captures ") for s in current):
                found.append(current)
            current = []
    return found


_TYPE = r"(?:TIMESTAMP WITH TIME ZONE|[A-Z]+)"
_PLACEHOLDER = re.compile(rf"(?:\$\d+|:\w+)::{_TYPE}")


def signature(statement: str) -> str:
    """What a statement does, without its values: its text for a SELECT, with `?` for each
    value; its table and columns for an INSERT or an UPDATE."""
    sql = " ".join(re.sub(r"\\[ag]set.*$", "", statement.strip()).split()).rstrip(";")
    if sql.startswith("BEGIN"):
        return "BEGIN"
    if sql.startswith("SELECT"):
        return _PLACEHOLDER.sub("?", sql.replace(EMAIL, "?"))
    if sql.startswith("INSERT"):
        table, columns = insert_columns(sql)
        conflict = " ON CONFLICT" if " ON CONFLICT " in sql else ""
        return f"INSERT {table} ({', '.join(columns)}){conflict}"
    if sql.startswith("UPDATE"):
        table, columns = update_columns(sql)
        return f"UPDATE {table} SET {', '.join(columns)}"
    return sql


def insert_columns(sql: str) -> tuple[str, list[str]]:
    match = re.match(r"INSERT INTO (\w+) \(([^)]*)\)", sql)
    if match is None:
        raise ValueError(f"not an INSERT: {sql[:80]}")
    return match.group(1), [c.strip() for c in match.group(2).split(",")]


def update_columns(sql: str) -> tuple[str, list[str]]:
    match = re.match(r"UPDATE (\w+) SET (.*) WHERE ", sql)
    if match is None:
        raise ValueError(f"not an UPDATE: {sql[:80]}")
    return match.group(1), re.findall(r"(\w+)\s*=", match.group(2))


# -- the same transaction for pgbench --------------------------------------------------------

EMAIL = f"('c' || :n::TEXT || '@{EMAIL_DOMAIN}')::VARCHAR"
POSTGRESQL = PGDialect_asyncpg()  # the service's own dialect: the same SQL text
_PARAMETER = re.compile(rf"\$(\d+)(?:::({_TYPE}))?")


def as_text(value: Any) -> str:
    """A value as pgbench passes it: text that PostgreSQL casts to the column's type."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class PgbenchScript:
    """A pgbench script with its variables, and the statements each branch runs."""

    new_pct: int
    returning: int
    lines: list[str] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    branches: dict[str, list[str]] = field(default_factory=lambda: {"new": [], "returning": []})

    def sql(self, statement: str, *branches: str) -> None:
        self.lines.append(statement)
        for branch in branches or ("new", "returning"):
            self.branches[branch].append(statement)

    def value(
        self, table: str, column: str, sql_type: str, template: Mapping[str, Any], prefix: str = ""
    ) -> str:
        """The SQL for one value the service sends, from the row it wrote."""
        current = template.get(column)
        if column == "id":
            return f"bench_uuid(:{'capture' if table == 'captures' else table}_seed)"
        if column == "email":
            return EMAIL
        if column == "contact_id":
            return ":c_id::UUID"
        if column.endswith("capture_id") and current is not None:
            return "bench_uuid(:capture_seed)"
        if current is None:
            return "NULL"
        if sql_type.startswith("TIMESTAMP"):
            return "now()"
        name = f"{prefix}{table}_{column}"
        self.defines[name] = as_text(current)
        return f":{name}::{sql_type}"

    def statement(
        self,
        lean: LeanStatement,
        template: Mapping[str, Any],
        special: Mapping[str, str] | None = None,
        tail: str = ";",
        prefix: str = "",
    ) -> str:
        """The service's own SQL for ``lean``, with pgbench's values for its parameters."""
        compiled = lean.compiled(POSTGRESQL)
        table = re.match(r"(?:INSERT INTO|UPDATE) (\w+)", compiled.sql)
        table_name = table.group(1) if table else ""

        def replace(match: re.Match[str]) -> str:
            name = compiled.names[int(match.group(1)) - 1]
            sql_type = match.group(2) or "TEXT"
            if special and name in special:
                return special[name]
            if name in compiled.constants:  # sent as a parameter by the service too
                self.defines[f"constant_{name}"] = as_text(compiled.constants[name])
                return f":constant_{name}::{sql_type}"
            return self.value(table_name, name, sql_type, template, prefix)

        return " ".join(_PARAMETER.sub(replace, compiled.sql).split()) + tail

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def pgbench_script(
    new: Sequence[str],
    returning: Sequence[str],
    templates: Templates,
    world: World,
    new_pct: int,
    returning_count: int,
) -> PgbenchScript:
    """The capture transaction for pgbench, from the service's logged statements.

    ``new`` and ``returning`` are the logged transactions of a capture by a new email and
    by a returning one; the script picks one branch per transaction, ``new_pct`` % new.
    """

    def logged(transaction: Sequence[str], prefix: str) -> str:
        found = [s for s in transaction if s.startswith(prefix)]
        if len(found) != 1:
            raise ValueError(f"expected one `{prefix}` in the capture's SQL, found {len(found)}")
        return found[0]

    script = PgbenchScript(new_pct, returning_count)
    script.defines.update(
        new_pct=str(new_pct),
        returning=str(returning_count),
        kind=str(templates.score_event["kind"]),
        # The service counts a day back from each capture; every score event the benchmark
        # writes is newer than a day before it starts, so a fixed bound finds the same rows.
        since=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
    )
    lines = script.lines
    lines += [
        "\\set r random(1, 100)",
        "\\if :r <= :new_pct",
        f"\\set n random({PGBENCH_NEW_IDS[0]}, {PGBENCH_NEW_IDS[1]})",
        "\\else",
        "\\set n random(1, :returning)",
        "\\endif",
    ]
    for seed in ("capture", "contacts", "stage_changes", "score_events", "lead_events"):
        lines.append(f"\\set {seed}_seed random(1, 4611686018427387903)")
    script.sql("BEGIN;")
    script.sql(script.statement(LOCK_CONTACT_BY_EMAIL, {}, {"email": EMAIL}, tail=" \\aset c_"))
    lines.append("\\if :r <= :new_pct")
    contact = script.statement(INSERT_CONTACT, templates.new_contact, tail=" \\aset c_")
    script.sql(contact, "new")
    script.sql(script.statement(INSERT_STAGE_CHANGE, templates.stage_change), "new")
    lines.append("\\else")
    window = {"contact_id": ":c_id::UUID", "kind": ":kind::VARCHAR",
              "since": ":since::TIMESTAMP WITH TIME ZONE"}  # fmt: skip
    script.sql(script.statement(POINTS_SINCE, {}, window), "returning")
    counted = {
        "b_id": ":c_id::UUID",
        "version": ":c_version::INTEGER + 1",
        "score": ":c_score::FLOAT + :score_events_points::FLOAT",
    }
    script.sql(
        script.statement(UPDATE_CONTACT, templates.returning_contact, counted, prefix="set_"),
        "returning",
    )
    if any(s.startswith("INSERT INTO stage_changes ") for s in returning):
        raise ValueError("a returning capture moved its contact's stage; the seed is off")
    lines.append("\\endif")
    script.sql(script.statement(INSERT_SCORE_EVENT, templates.score_event))
    lines.append("\\if :r <= :new_pct")
    add_events(script, templates.new_events, "new")
    lines.append("\\else")
    add_events(script, templates.returning_events, "returning")
    lines.append("\\endif")
    script.sql(script.statement(INSERT_CAPTURE, templates.capture))
    script.sql("COMMIT;")
    return script


def add_events(script: PgbenchScript, events: Sequence[Mapping[str, Any]], branch: str) -> None:
    """The capture's outbox rows, sent in one round trip as the service's batch is."""
    script.lines.append("\\startpipeline")
    for n, event in enumerate(events):
        special = {"id": f"bench_uuid(:lead_events_seed::BIGINT + {n})", "lead_id": ":c_id::UUID"}
        statement = script.statement(INSERT_LEAD_EVENT, event, special, prefix=f"{branch}{n}_")
        script.sql(statement, branch)
    script.lines.append("\\endpipeline")


def parity(service: Sequence[str], script: Sequence[str]) -> list[str]:
    """Where the script's statements differ from the service's, as readable lines."""
    ours, theirs = [signature(s) for s in service], [signature(s) for s in script]
    if ours == theirs:
        return []
    width = max(len(ours), len(theirs))
    ours += [""] * (width - len(ours))
    theirs += [""] * (width - len(theirs))
    return [f"service: {a}\n pgbench: {b}" for a, b in zip(ours, theirs, strict=True) if a != b]


# -- processor time --------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    """Processor seconds used so far, by role, and the machine's busy and total ticks."""

    client: float
    server: float
    postgres: float
    pgbench: float
    busy: int
    total: int

    @classmethod
    def take(cls, server_pid: int | None) -> "CpuSample":
        procs: dict[int, tuple[str, int, float, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            rest = raw[raw.rindex(")") + 2 :].split()
            own = (int(rest[11]) + int(rest[12])) / TICKS
            reaped = (int(rest[13]) + int(rest[14])) / TICKS
            procs[int(entry)] = (comm, int(rest[1]), own, reaped)
        server = 0.0
        for pid, (_, _, own, _) in procs.items():
            ancestor: int | None = pid
            while ancestor and ancestor != server_pid:
                ancestor = procs[ancestor][1] if ancestor in procs else None
            if server_pid is not None and ancestor == server_pid:
                server += own
        postgres = 0.0
        for comm, ppid, own, reaped in procs.values():
            if comm == "postgres":
                postgres += own  # a backend that exits moves to its parent's reaped time
                if procs.get(ppid, ("",))[0] != "postgres":
                    postgres += reaped
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        usage, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return cls(
            client=usage.ru_utime + usage.ru_stime,
            server=server,
            postgres=postgres,
            pgbench=children.ru_utime + children.ru_stime,
            busy=sum(fields) - idle,
            total=sum(fields),
        )

    def per_transaction(self, later: "CpuSample", transactions: int) -> dict[str, float]:
        """Processor milliseconds per transaction by role, and how busy the machine was."""
        n = max(transactions, 1)
        return {
            "client_ms": round((later.client - self.client) * 1000 / n, 3),
            "server_ms": round((later.server - self.server) * 1000 / n, 3),
            "postgres_ms": round((later.postgres - self.postgres) * 1000 / n, 3),
            "pgbench_ms": round((later.pgbench - self.pgbench) * 1000 / n, 3),
            "machine_busy_pct": round(
                100 * (later.busy - self.busy) / max(later.total - self.total, 1), 1
            ),
        }


# -- the load --------------------------------------------------------------------------------


class Bodies:
    """Capture bodies: a share with new emails, the rest with returning visitors' emails."""

    def __init__(self, new_share: float, returning: int, seed: int = 7) -> None:
        self.new_share = new_share
        self.returning = returning
        self.rng = random.Random(seed)
        self.next_new = HTTP_NEW_IDS
        head, tail = json.dumps({**FORM, "email": "@@"}).split('"@@"')
        self.head, self.tail = head.encode(), tail.encode()

    def next(self) -> bytes:
        if self.rng.random() < self.new_share:
            n, self.next_new = self.next_new, self.next_new + 1
        else:
            n = self.rng.randint(1, self.returning)
        return self.head + f'"c{n}@{EMAIL_DOMAIN}"'.encode() + self.tail


@dataclass
class Recorder:
    """Latencies (ms) of requests answered in the measured window, and every outcome."""

    window: tuple[float, float] = (0.0, 0.0)
    latencies: list[float] = field(default_factory=list)
    answered_in_window: int = 0
    succeeded: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    async def post(self, send: Send, request: bytes, since: float) -> None:
        """Post one capture; its latency counts from ``since`` (the start, or its schedule)."""
        detail = ""
        try:
            answer = await send(request)
            outcome = str(answer.status) if answer.status >= 300 else ""
            detail = answer.body[:300].decode(errors="replace")
        except HttpError as exc:
            outcome, detail = (
                type(exc).__name__,
                f"{exc} after {time.perf_counter() - since:.3f} s",
            )
        done = time.perf_counter()
        if outcome:
            self.errors[outcome] += 1
            if len(self.samples) < 3:
                self.samples.append(f"{outcome}: {detail}")
        else:
            self.succeeded += 1
        if self.window[0] <= done < self.window[1]:
            self.answered_in_window += 1
            if not outcome:
                self.latencies.append((done - since) * 1000)


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 2)


def capture_target(base: str, headers: Mapping[str, str]) -> Target:
    return Target(f"{base}{CAPTURES}", headers)


async def sampled(
    window: tuple[float, float], server_pid: int, run: Awaitable[None]
) -> tuple[CpuSample, CpuSample]:
    """Run the load while taking processor samples at the edges of the measured window."""

    async def at(moment: float) -> CpuSample:
        await asyncio.sleep(max(moment - time.perf_counter(), 0))
        return await asyncio.to_thread(CpuSample.take, server_pid)  # the load goes on meanwhile

    first, last, _ = await asyncio.gather(at(window[0]), at(window[1]), run)
    return first, last


async def closed_loop(
    base: str,
    headers: Mapping[str, str],
    bodies: Bodies,
    concurrency: int,
    warmup: float,
    duration: float,
    server_pid: int,
) -> dict[str, Any]:
    """``concurrency`` clients, each posting its next capture as soon as one is answered."""
    start = time.perf_counter()
    recorder = Recorder(window=(start + warmup, start + warmup + duration))
    target = capture_target(base, headers)

    async def user() -> None:
        connection = Connection(target)
        while (began := time.perf_counter()) < recorder.window[1]:
            await recorder.post(connection.send, target.post(bodies.next()), began)
        connection.close()

    async def users() -> None:
        await asyncio.gather(*(user() for _ in range(concurrency)))

    first, last = await sampled(recorder.window, server_pid, users())
    return summary(recorder, duration, first, last)


async def open_loop(
    base: str,
    headers: Mapping[str, str],
    bodies: Bodies,
    rate: float,
    warmup: float,
    duration: float,
    connections: int,
    server_pid: int,
) -> dict[str, Any]:
    """Captures sent at a fixed rate whatever the answers; latency counts from the schedule."""
    start = time.perf_counter() + 0.05
    recorder = Recorder(window=(start + warmup, start + warmup + duration))
    target = capture_target(base, headers)
    pool = Pool(target, connections)

    async def schedule() -> None:
        pending: set[asyncio.Task[None]] = set()
        for i in range(int(rate * (warmup + duration))):
            due = start + i / rate
            await asyncio.sleep(max(due - time.perf_counter(), 0))
            task = asyncio.create_task(recorder.post(pool.send, target.post(bodies.next()), due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)

    first, last = await sampled(recorder.window, server_pid, schedule())
    pool.close()
    result = summary(recorder, duration, first, last)
    result["rate"] = rate
    return result


def summary(
    recorder: Recorder, duration: float, first: CpuSample, last: CpuSample
) -> dict[str, Any]:
    return {
        "captures_per_s": round(recorder.answered_in_window / duration, 1),
        "p50_ms": percentile(recorder.latencies, 50),
        "p99_ms": percentile(recorder.latencies, 99),
        "max_ms": round(max(recorder.latencies), 2) if recorder.latencies else None,
        "measured": len(recorder.latencies),
        "succeeded": recorder.succeeded,
        "errors": dict(recorder.errors),
        "error_samples": recorder.samples,
        "cpu": first.per_transaction(last, recorder.answered_in_window),
    }


# -- pgbench ---------------------------------------------------------------------------------


def find_pgbench() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)), None
    )
    if not found:
        raise SystemExit("pgbench not found: install the PostgreSQL client tools")
    return str(found)


def run_pgbench(
    pgbench: str,
    url: URL,
    script: Path,
    defines: Mapping[str, str],
    clients: int,
    duration: float,
    server_pid: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """pgbench running ``script``: its transactions per second and latency percentiles."""
    logs = Path(tempfile.mkdtemp(prefix="pgbench-"))
    command = [
        pgbench, "-n", "-f", str(script), "-c", str(clients), "-j", str(min(2, clients)),
        "-T", str(round(duration)), "-M", "prepared", "-l", "--log-prefix", str(logs / "tx"),
        "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
        "-U", url.username or "postgres",
    ]  # fmt: skip
    if rate is not None:
        command += ["-R", str(rate)]
    for name, value in defines.items():
        command += ["-D", f"{name}={value}"]
    command.append(url.database or "postgres")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    first = CpuSample.take(server_pid)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    last = CpuSample.take(server_pid)
    latencies = []
    for log in logs.iterdir():
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1000)
    shutil.rmtree(logs, ignore_errors=True)
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", done.stdout, re.M)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    errors = done.returncode != 0 or (failed is not None and int(failed.group(1)) > 0)
    transactions = int(processed.group(1)) if processed else 0
    return {
        "tps": float(tps.group(1)) if tps else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "transactions": transactions,
        "failed": int(failed.group(1)) if failed else None,
        "errors": (done.stderr.strip()[-1000:] or done.stdout[-1000:]) if errors else "",
        "cpu": first.per_transaction(last, transactions),
    }


# -- the run ---------------------------------------------------------------------------------


def per_transaction(
    before: Mapping[str, int], after: Mapping[str, int], n: int
) -> dict[str, float]:
    return {table: round((after[table] - before[table]) / max(n, 1), 3) for table in before}


def checkpoint(url: str) -> None:
    run(run_sql(url, "CHECKPOINT", autocommit=True))


def run_configuration(
    args: argparse.Namespace,
    url: str,
    world: World,
    workers: int,
    script: PgbenchScript,
    script_path: Path,
    bodies: Bodies,
    work: Path,
) -> dict[str, Any]:
    """The concurrency sweep and the fixed-rate phase against one server configuration."""
    env = {"INBOUND_DATABASE_POOL_SIZE": str(args.pool_size)} if args.pool_size else {}
    base_url = make_url(url)
    pgbench = find_pgbench()
    headers = site_headers(world)
    result: dict[str, Any] = {"workers": workers, "sweep": [], "rate": None, "other_rates": []}
    with serving(url, workers, work / f"server-{workers}.log", env) as (base, pid):
        for concurrency in args.concurrency:
            checkpoint(url)
            before = run(row_counts(url))
            ours = run(
                closed_loop(base, headers, bodies, concurrency, args.warmup, args.duration, pid)
            )
            middle = run(row_counts(url))
            ours["rows_per_capture"] = per_transaction(before, middle, ours["succeeded"])
            checkpoint(url)
            theirs = run_pgbench(
                pgbench, base_url, script_path, script.defines, concurrency, args.duration, pid
            )
            after = run(row_counts(url))
            theirs["rows_per_transaction"] = per_transaction(middle, after, theirs["transactions"])
            ratio = ours["captures_per_s"] / theirs["tps"] if theirs["tps"] else None
            step = {
                "concurrency": concurrency,
                "ours": ours,
                "pgbench": theirs,
                "ratio": round(ratio, 3) if ratio is not None else None,
            }
            result["sweep"].append(step)
            print_step(workers, step)
        rates = [r for r in args.also_rates if r > 0] + ([args.rate] if args.rate > 0 else [])
        for rate in rates:
            checkpoint(url)
            connections = args.rate_connections
            ours = run(
                open_loop(base, headers, bodies, rate, args.warmup, args.duration, connections, pid)
            )
            checkpoint(url)
            theirs = run_pgbench(
                pgbench, base_url, script_path, script.defines, connections, args.duration, pid,
                rate=rate,
            )  # fmt: skip
            phase = {"ours": ours, "pgbench": theirs}
            print_rate(workers, phase)
            if rate == args.rate:
                result["rate"] = phase
            else:
                result["other_rates"].append(phase)
    return result


def learn_the_sql(
    url: str, admin_key: str, returning: int, new_pct: int, work: Path
) -> tuple[World, PgbenchScript, dict[str, Any]]:
    """Set up the world through a server that logs its SQL, and build pgbench's script."""
    log_path = work / "server-sql.log"
    echo = {"INBOUND_DATABASE_ECHO": "true", "PYTHONUNBUFFERED": "1"}
    with serving(url, 1, log_path, echo) as (base, _):
        world = build_world(base, admin_key)
        first = run(rows_of_capture(url, capture_once(base, world, TEMPLATE_EMAIL)))
        capture_once(base, world, TEMPLATE_EMAIL)  # now an MQL: the returning visitors' state
        run(seed_returning_contacts(url, returning))
        later = run(rows_of_capture(url, capture_once(base, world, f"c1@{EMAIL_DOMAIN}")))
    transactions = capture_transactions(logged_statements(log_path.read_text()))
    if len(transactions) != 3:
        raise RuntimeError(f"expected 3 logged capture transactions, found {len(transactions)}")
    new, returning_tx = transactions[0], transactions[2]
    if any(v is None for v in first.values()) or later["contact"] is None:
        raise RuntimeError("the first capture did not write a contact, stage change and score")
    templates = Templates(
        new_contact=first["contact"] or {},
        returning_contact=later["contact"] or {},
        capture=first["capture"] or {},
        stage_change=first["stage_change"] or {},
        score_event=first["score_event"] or {},
        new_events=run(events_of(url, first["contact"] or {})),
        returning_events=run(events_of(url, later["contact"] or {})),
    )
    script = pgbench_script(new, returning_tx, templates, world, new_pct, returning)
    differences = {
        "new": parity(new, script.branches["new"]),
        "returning": parity(returning_tx, script.branches["returning"]),
    }
    sql = {
        "service_new": new,
        "service_returning": returning_tx,
        "statements": {"new": len(new), "returning": len(returning_tx)},
        "differences": differences,
    }
    return world, script, sql


def print_header(args: argparse.Namespace) -> None:
    load = os.getloadavg()[0]
    print(
        f"lead captures vs pgbench: {round(args.new_share * 100)}% new emails, "
        f"{round((1 - args.new_share) * 100)}% returning (of {args.returning:,}); "
        f"{args.duration:g} s per step after {args.warmup:g} s of warm-up; "
        f"{os.cpu_count()} cores, load average {load:.2f} at start"
    )
    if load > 0.5:
        print("note: the machine is already busy; the figures will be lower and noisier")
    print(
        "latencies in ms; CPU in ms of processor time per transaction, by process; "
        "busy = share of all cores in use"
    )
    print(
        f"{'':12} | {'ours (HTTP)':^27} | {'pgbench, same SQL':^23} | {'':6} | "
        f"{'CPU, ours':^18} | {'CPU, pgbench':^12} | {'busy %':^11}"
    )
    print(
        f"{'workers conc':12} | {'per s':>8} {'p50':>6} {'p99':>7} {'err':>3} | "
        f"{'per s':>8} {'p50':>6} {'p99':>7} | {'ratio':>6} | "
        f"{'server':>6} {'pg':>5} {'client':>5} | {'pg':>5} {'client':>6} | "
        f"{'ours':>5} {'pgb':>5}"
    )


def fmt(value: float | None, width: int, digits: int = 1) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def print_step(workers: int, step: Mapping[str, Any]) -> None:
    ours, theirs = step["ours"], step["pgbench"]
    errors = sum(ours["errors"].values())
    mine, its = ours["cpu"], theirs["cpu"]
    print(
        f"{workers:>7} {step['concurrency']:>4} | {ours['captures_per_s']:>8.1f} "
        f"{fmt(ours['p50_ms'], 6)} {fmt(ours['p99_ms'], 7)} {errors:>3} | "
        f"{theirs['tps']:>8.1f} {fmt(theirs['p50_ms'], 6)} {fmt(theirs['p99_ms'], 7)} | "
        f"{fmt(step['ratio'], 6, 3)} | {mine['server_ms']:>6.2f} {mine['postgres_ms']:>5.2f} "
        f"{mine['client_ms']:>5.2f} | {its['postgres_ms']:>5.2f} {its['pgbench_ms']:>6.2f} | "
        f"{mine['machine_busy_pct']:>5.0f} {its['machine_busy_pct']:>5.0f}",
        flush=True,
    )
    for sample in ours["error_samples"]:
        print(f"        error: {sample}")
    if theirs["errors"]:
        print(f"        pgbench: {theirs['errors']}")


def print_rate(workers: int, phase: Mapping[str, Any]) -> None:
    ours, theirs = phase["ours"], phase["pgbench"]
    errors = sum(ours["errors"].values())
    print(
        f"{workers:>7} open loop at {ours['rate']:g}/s: answered {ours['captures_per_s']:.1f}/s, "
        f"p50 {fmt(ours['p50_ms'], 0)} ms, p99 {fmt(ours['p99_ms'], 0)} ms, "
        f"max {fmt(ours['max_ms'], 0)} ms, errors {errors} | pgbench -R {ours['rate']:g}: "
        f"p50 {fmt(theirs['p50_ms'], 0, 2)} ms, p99 {fmt(theirs['p99_ms'], 0, 2)} ms",
        flush=True,
    )
    for sample in ours["error_samples"]:
        print(f"        error: {sample}")


def print_verdict(results: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    verdicts = []
    for configuration in results["configurations"]:
        workers = configuration["workers"]
        ratios = [s["ratio"] for s in configuration["sweep"] if s["ratio"] is not None]
        phases = [s["ours"] for s in configuration["sweep"]]
        phases += [p["ours"] for p in configuration["other_rates"]]
        rate = configuration["rate"]["ours"] if configuration["rate"] else None
        errors = sum(
            sum(phase["errors"].values()) for phase in [*phases, *([rate] if rate else [])]
        )
        verdict: dict[str, Any] = {
            "workers": workers,
            "lowest_ratio": min(ratios) if ratios else None,
            "ratio_target_met": bool(ratios) and min(ratios) >= args.ratio_target,
            "errors": errors,
        }
        line = (
            f"workers={workers}: lowest ours/pgbench {fmt(verdict['lowest_ratio'], 0, 3)} "
            f"(target >= {args.ratio_target}: {'met' if verdict['ratio_target_met'] else 'MISSED'})"
        )
        if rate is not None:
            verdict["p99_at_rate_ms"] = rate["p99_ms"]
            verdict["p99_target_met"] = (
                rate["p99_ms"] is not None
                and rate["p99_ms"] < args.p99_target
                and rate["captures_per_s"] >= 0.98 * args.rate
            )
            line += (
                f"; p99 at {args.rate:g}/s {fmt(rate['p99_ms'], 0)} ms "
                f"(target < {args.p99_target:g} ms, all answered: "
                f"{'met' if verdict['p99_target_met'] else 'MISSED'})"
            )
        verdicts.append(verdict)
        print(f"{line}; errors {errors}")
    return {"configurations": verdicts}


def print_rows(results: Mapping[str, Any]) -> None:
    """Rows each side wrote per transaction: the two workloads should look alike."""

    def listed(rows: Mapping[str, float]) -> str:
        return ", ".join(f"{table} {count:.2f}" for table, count in rows.items())

    for configuration in results["configurations"]:
        step = configuration["sweep"][-1]
        print(
            f"rows written per transaction (workers={configuration['workers']}, "
            f"concurrency {step['concurrency']}):\n"
            f"  ours:    {listed(step['ours']['rows_per_capture'])}\n"
            f"  pgbench: {listed(step['pgbench']['rows_per_transaction'])}"
        )


def integers(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench",
        help="PostgreSQL database to drop, recreate and fill (default: %(default)s)",
    )
    parser.add_argument("--concurrency", type=integers, default=[1, 8, 32, 64])
    parser.add_argument("--workers", type=integers, default=[1, 2], help="server processes")
    parser.add_argument("--pool-size", type=int, default=None, help="database pool per process")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per step")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each step")
    parser.add_argument(
        "--rate", type=float, default=300.0,
        help="captures/s of the open loop that the latency target applies to (0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--also-rates", type=floats, default=[],
        help="other open-loop rates to report, such as 50,100",
    )  # fmt: skip
    parser.add_argument("--rate-connections", type=int, default=32)
    parser.add_argument("--new-share", type=float, default=0.7, help="share of new emails")
    parser.add_argument("--returning", type=int, default=10_000, help="returning visitors")
    parser.add_argument("--ratio-target", type=float, default=0.25)
    parser.add_argument("--p99-target", type=float, default=50.0, help="ms, at --rate")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--sql-out",
        type=Path,
        default=None,
        help="directory for the service's logged SQL of a capture and the pgbench script",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url_obj = make_url(args.database_url)
    if not url_obj.drivername.startswith("postgresql"):
        raise SystemExit("the benchmark needs PostgreSQL (pgbench runs against the same database)")
    url = url_obj.render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="inbound-bench-"))
    load_before = os.getloadavg()
    run(recreate_database(url_obj))
    migrate.upgrade(url)
    admin_key = run(prepare_database(url))
    new_pct = round(args.new_share * 100)
    world, script, sql = learn_the_sql(url, admin_key, args.returning, new_pct, work)
    script_path = work / "capture.sql"
    script_path.write_text(script.text())
    if args.sql_out:
        write_sql(args.sql_out, sql, script)
    for branch, differences in sql["differences"].items():
        for difference in differences:
            print(f"warning: pgbench's {branch} capture differs from the service's:\n {difference}")
    if not any(sql["differences"].values()):
        counts = sql["statements"]
        print(
            f"pgbench runs the statements the service logged for a capture: {counts['new']} "
            f"for a new email, {counts['returning']} for a returning one (BEGIN and COMMIT "
            "included)"
        )
    bodies = Bodies(args.new_share, args.returning)
    print_header(args)
    results: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "load_average_at_start": load_before},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "sql": {"statements": sql["statements"], "differences": sql["differences"]},
        "configurations": [],
    }
    for workers in args.workers:
        results["configurations"].append(
            run_configuration(args, url, world, workers, script, script_path, bodies, work)
        )
    print_rows(results)
    results["verdict"] = print_verdict(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    if any(v["errors"] for v in results["verdict"]["configurations"]):
        print(f"the service's logs are kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def write_sql(directory: Path, sql: Mapping[str, Any], script: PgbenchScript) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for branch in ("new", "returning"):
        statements = sql[f"service_{branch}"]
        (directory / f"service-{branch}.sql").write_text("\n".join(statements) + "\n")
    (directory / "pgbench.sql").write_text(script.text())
    defines = "\n".join(f"-D {k}={v}" for k, v in script.defines.items())
    (directory / "pgbench-variables.txt").write_text(defines + "\n")


if __name__ == "__main__":
    main()
