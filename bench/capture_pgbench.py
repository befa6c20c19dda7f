"""The capture transaction for pgbench, built from the service's own compiled statements and
the values it stored."""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from capture_sql import EMAIL, SQL_TYPE
from capture_world import PGBENCH_NEW_IDS, Templates, World
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

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
from inbound.lean_sql import LeanStatement

POSTGRESQL = PGDialect_asyncpg()  # the service's own dialect: the same SQL text
_PARAMETER = re.compile(rf"\$(\d+)(?:::({SQL_TYPE}))?")


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
