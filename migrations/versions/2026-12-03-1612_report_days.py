"""day tables for the journey report, and the triggers that log changes to rolled days

Revision ID: fcc77c164053
Revises: 5cefae301578
Create Date: 2026-12-03 16:12:52.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fcc77c164053"
down_revision: str | None = "5cefae301578"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")
REACHED = [f"{stage}_at" for stage in STAGES]
# What an answer's roll-up counts it by.
ANSWER_KEYS = ("answered_at", "metric", "stage", "persona_id", "scale_max", "score")

# A change is logged for a day that ended an hour before it: rolling waits two.
PG_HORIZON = "date_trunc('day', clock_timestamp() - interval '1 hour', 'UTC')"
SQLITE_HORIZON = "date('now', '-1 hour')"  # stored times are UTC text: '2026-12-01 10:00:00'


def _distinct(old: str, new: str) -> str:
    return f"{old} IS DISTINCT FROM {new}" if op.get_context().dialect.name == "postgresql" \
        else f"{old} IS NOT {new}"  # fmt: skip


def _contact_times(kind: str) -> list[str]:
    """The times whose days a contact's change touches. Inserted or deleted: all its stage
    times. Updated: the days it entered the funnel (its cohort's), before and after, and each
    stage time that moved, or every one if its persona changed."""
    if kind != "update":
        row = "NEW" if kind == "insert" else "OLD"
        return [f"{row}.{column}" for column in REACHED]
    persona_moved = _distinct("OLD.persona_id", "NEW.persona_id")
    times = ["OLD.subscriber_at", "NEW.subscriber_at"]
    for column in REACHED[1:]:
        moved = f"{persona_moved} OR {_distinct(f'OLD.{column}', f'NEW.{column}')}"
        times += [f"CASE WHEN {moved} THEN {row}.{column} END" for row in ("OLD", "NEW")]
    return times


def _contact_moved() -> str:
    columns = ["persona_id", *REACHED]
    return " OR ".join(_distinct(f"OLD.{c}", f"NEW.{c}") for c in columns)


def _answer_moved() -> str:
    return " OR ".join(_distinct(f"OLD.{c}", f"NEW.{c}") for c in ANSWER_KEYS)


def _pg_upgrade() -> None:
    op.execute(f"""
        CREATE FUNCTION report_days_log(times timestamptz[]) RETURNS void
        LANGUAGE sql AS $$
          INSERT INTO report_day_changes (day)
          SELECT DISTINCT (t AT TIME ZONE 'UTC')::date FROM unnest(times) AS t
          WHERE t < {PG_HORIZON}
        $$
    """)
    answer_times = {"insert": "NEW.answered_at", "delete": "OLD.answered_at",
                    "update": "OLD.answered_at, NEW.answered_at"}  # fmt: skip
    op.execute(f"""
        CREATE FUNCTION report_days_answer_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            PERFORM report_days_log(ARRAY[{answer_times["insert"]}]);
          ELSIF TG_OP = 'DELETE' THEN
            PERFORM report_days_log(ARRAY[{answer_times["delete"]}]);
          ELSE
            PERFORM report_days_log(ARRAY[{answer_times["update"]}]);
          END IF;
          RETURN NULL;
        END $$
    """)
    op.execute(f"""
        CREATE FUNCTION report_days_contact_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            PERFORM report_days_log(ARRAY[{", ".join(_contact_times("insert"))}]);
          ELSIF TG_OP = 'DELETE' THEN
            PERFORM report_days_log(ARRAY[{", ".join(_contact_times("delete"))}]);
          ELSE
            PERFORM report_days_log(ARRAY[{", ".join(_contact_times("update"))}]::timestamptz[]);
          END IF;
          RETURN NULL;
        END $$
    """)
    # WHEN clauses keep the usual write (an answer now, a new contact now) out of the function.
    earliest_new = f"least({', '.join(f'NEW.{c}' for c in REACHED)})"
    earliest_old = f"least({', '.join(f'OLD.{c}' for c in REACHED)})"
    for name, event, table, when, function in (
        ("answers_in", "INSERT", "survey_answers", f"NEW.answered_at < {PG_HORIZON}",
         "report_days_answer_changed"),
        ("answers_out", "DELETE", "survey_answers", f"OLD.answered_at < {PG_HORIZON}",
         "report_days_answer_changed"),
        ("answers_moved", f"UPDATE OF {', '.join(ANSWER_KEYS)}", "survey_answers",
         _answer_moved(), "report_days_answer_changed"),
        ("contacts_in", "INSERT", "contacts", f"{earliest_new} < {PG_HORIZON}",
         "report_days_contact_changed"),
        ("contacts_out", "DELETE", "contacts", f"{earliest_old} < {PG_HORIZON}",
         "report_days_contact_changed"),
        ("contacts_moved", f"UPDATE OF persona_id, {', '.join(REACHED)}", "contacts",
         _contact_moved(), "report_days_contact_changed"),
    ):  # fmt: skip
        op.execute(
            f"CREATE TRIGGER report_days_{name} AFTER {event} ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION {function}()"
        )


def _sqlite_log(times: list[str]) -> str:
    chosen = " UNION ALL ".join(f"SELECT {t} AS t" for t in times)
    return (
        "INSERT INTO report_day_changes (day) SELECT DISTINCT date(t) "
        f"FROM ({chosen}) WHERE t < {SQLITE_HORIZON};"
    )


def _sqlite_upgrade() -> None:
    for name, event, table, when, times in (
        ("answers_in", "INSERT", "survey_answers", f"NEW.answered_at < {SQLITE_HORIZON}",
         ["NEW.answered_at"]),
        ("answers_out", "DELETE", "survey_answers", f"OLD.answered_at < {SQLITE_HORIZON}",
         ["OLD.answered_at"]),
        ("answers_moved", f"UPDATE OF {', '.join(ANSWER_KEYS)}", "survey_answers",
         _answer_moved(), ["OLD.answered_at", "NEW.answered_at"]),
        ("contacts_in", "INSERT", "contacts", "1", _contact_times("insert")),
        ("contacts_out", "DELETE", "contacts", "1", _contact_times("delete")),
        ("contacts_moved", f"UPDATE OF persona_id, {', '.join(REACHED)}", "contacts",
         _contact_moved(), _contact_times("update")),
    ):  # fmt: skip
        op.execute(
            f"CREATE TRIGGER report_days_{name} AFTER {event} ON {table} FOR EACH ROW "
            f"WHEN {when} BEGIN {_sqlite_log(times)} END"
        )


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_report_days")),
    )
    op.create_table("report_day_changes", sa.Column("day", sa.Date(), nullable=False))
    op.create_index("ix_report_day_changes_day", "report_day_changes", ["day"])
    op.create_table(
        "day_answers",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("persona_id", sa.Uuid(), nullable=True),
        sa.Column("scale_max", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
    )
    op.create_index("ix_day_answers_day", "day_answers", ["day"])
    op.create_index("ix_day_answers_persona_id_day", "day_answers", ["persona_id", "day"])
    op.create_table(
        "day_answer_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("scale_max", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
    )
    op.create_index("ix_day_answer_totals_day", "day_answer_totals", ["day"])
    op.create_table(
        "day_cohort_windows",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("persona_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("within_days", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_day_cohort_windows_day", "day_cohort_windows", ["day"])
    op.create_table(
        "day_cohorts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("persona_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_day_cohorts_day", "day_cohorts", ["day"])
    op.create_table(
        "day_stages",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("persona_id", sa.Uuid(), nullable=True),
        sa.Column("contacts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_day_stages_day", "day_stages", ["day"])
    if op.get_context().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


TRIGGERS = {
    "survey_answers": ("answers_in", "answers_out", "answers_moved"),
    "contacts": ("contacts_in", "contacts_out", "contacts_moved"),
}


def downgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    for table, names in TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER report_days_{name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        for function in ("report_days_answer_changed()", "report_days_contact_changed()",
                         "report_days_log(timestamptz[])"):  # fmt: skip
            op.execute(f"DROP FUNCTION {function}")
    op.drop_index("ix_day_answers_persona_id_day", table_name="day_answers")
    for table in ("day_stages", "day_cohorts", "day_cohort_windows", "day_answer_totals",
                  "day_answers"):  # fmt: skip
        op.drop_index(f"ix_{table}_day", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_report_day_changes_day", table_name="report_day_changes")
    op.drop_table("report_day_changes")
    op.drop_table("report_days")
