"""The SQL of one capture as the service logs it, and how a statement compares with pgbench's."""

import re
from collections.abc import Sequence

from database import EMAIL_DOMAIN

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


SQL_TYPE = r"(?:TIMESTAMP WITH TIME ZONE|[A-Z]+)"
_PLACEHOLDER = re.compile(rf"(?:\$\d+|:\w+)::{SQL_TYPE}")

EMAIL = f"('c' || :n::TEXT || '@{EMAIL_DOMAIN}')::VARCHAR"  # the email pgbench makes


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


def parity(service: Sequence[str], script: Sequence[str]) -> list[str]:
    """Where the script's statements differ from the service's, as readable lines."""
    ours, theirs = [signature(s) for s in service], [signature(s) for s in script]
    if ours == theirs:
        return []
    width = max(len(ours), len(theirs))
    ours += [""] * (width - len(ours))
    theirs += [""] * (width - len(theirs))
    return [f"service: {a}\n pgbench: {b}" for a, b in zip(ours, theirs, strict=True) if a != b]
