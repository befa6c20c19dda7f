"""The day tables: which days are rolled, which changed since, and their counts."""

from typing import Any

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Table, Uuid
from sqlmodel import SQLModel

METADATA = SQLModel.metadata

# A day counted into the day tables, and when.
REPORT_DAYS = Table(
    "report_days",
    METADATA,
    Column("day", Date, primary_key=True),
    Column("rolled_at", DateTime(timezone=True), nullable=False),
)

# A change to a day that was over (or about to be) when it happened: one row per change, no
# key, so that the transactions that log them never wait on each other. Rolling the day
# deletes the rows it has seen; a day with rows left is read from the source tables.
REPORT_DAY_CHANGES = Table(
    "report_day_changes",
    METADATA,
    Column("day", Date, nullable=False),
    Index("ix_report_day_changes_day", "day"),
)


def day_table(name: str, *columns: Column[Any], by: tuple[str, ...] = ()) -> Table:
    """A day table: a `day` column first, ``columns`` after it, and an index on `day` (then
    one on each of ``by`` and `day`, for the reports narrowed by that column)."""
    indexes = [Index(f"ix_{name}_{column}_day", column, "day") for column in by]
    return Table(
        name,
        METADATA,
        Column("day", Date, nullable=False),
        *columns,
        Index(f"ix_{name}_day", "day"),
        *indexes,
    )


def _persona() -> Column[Any]:
    return Column("persona_id", Uuid, nullable=True)


def _stage() -> Column[Any]:
    return Column("stage", String(16), nullable=False)


def _answers(*, per_persona: bool) -> list[Column[Any]]:
    """Answers per metric, stage (and persona), scale and score."""
    persona = [_persona()] if per_persona else []
    counts = ("scale_max", "score", "answers")
    return [Column("metric", String(8), nullable=False), _stage(), *persona,
            *(Column(name, Integer, nullable=False) for name in counts)]  # fmt: skip


def _cohorts(*, windowed: bool) -> list[Column[Any]]:
    """Contacts per current persona and stage reached (and whole days it took)."""
    within = [Column("within_days", Integer, nullable=False)] if windowed else []
    return [_persona(), _stage(), *within, Column("contacts", Integer, nullable=False)]


# Answers given on the day, per metric, stage and persona then, scale and score.
DAY_ANSWERS = day_table("day_answers", *_answers(per_persona=True), by=("persona_id",))

# The same whatever the persona: a sixth of the rows for a report on everyone.
DAY_ANSWER_TOTALS = day_table("day_answer_totals", *_answers(per_persona=False))

# Contacts that entered the funnel on the day, per current persona and each stage they
# reached, by the whole days it took them (rounded up): a cohort's window of N days holds
# those with `within_days <= N`.
DAY_COHORT_WINDOWS = day_table("day_cohort_windows", *_cohorts(windowed=True))

# The same however long it took: what a cohort with no window reads, a row per stage reached.
DAY_COHORTS = day_table("day_cohorts", *_cohorts(windowed=False))

# Contacts that reached a stage on the day, per current persona.
DAY_STAGES = day_table(
    "day_stages", _stage(), _persona(), Column("contacts", Integer, nullable=False)
)

DAY_TABLES = (DAY_ANSWERS, DAY_ANSWER_TOTALS, DAY_COHORT_WINDOWS, DAY_COHORTS, DAY_STAGES)
