"""The day tables: which days are rolled, which changed since, and their counts."""

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

# Answers given on the day, per metric, stage and persona then, scale and score.
DAY_ANSWERS = Table(
    "day_answers",
    METADATA,
    Column("day", Date, nullable=False),
    Column("metric", String(8), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("persona_id", Uuid, nullable=True),
    Column("scale_max", Integer, nullable=False),
    Column("score", Integer, nullable=False),
    Column("answers", Integer, nullable=False),
    Index("ix_day_answers_day", "day"),
    Index("ix_day_answers_persona_id_day", "persona_id", "day"),
)

# The same whatever the persona: a sixth of the rows for a report on everyone.
DAY_ANSWER_TOTALS = Table(
    "day_answer_totals",
    METADATA,
    Column("day", Date, nullable=False),
    Column("metric", String(8), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("scale_max", Integer, nullable=False),
    Column("score", Integer, nullable=False),
    Column("answers", Integer, nullable=False),
    Index("ix_day_answer_totals_day", "day"),
)

# Contacts that entered the funnel on the day, per current persona and each stage they
# reached, by the whole days it took them (rounded up): a cohort's window of N days holds
# those with `within_days <= N`.
DAY_COHORT_WINDOWS = Table(
    "day_cohort_windows",
    METADATA,
    Column("day", Date, nullable=False),
    Column("persona_id", Uuid, nullable=True),
    Column("stage", String(16), nullable=False),
    Column("within_days", Integer, nullable=False),
    Column("contacts", Integer, nullable=False),
    Index("ix_day_cohort_windows_day", "day"),
)

# The same however long it took: what a cohort with no window reads, a row per stage reached.
DAY_COHORTS = Table(
    "day_cohorts",
    METADATA,
    Column("day", Date, nullable=False),
    Column("persona_id", Uuid, nullable=True),
    Column("stage", String(16), nullable=False),
    Column("contacts", Integer, nullable=False),
    Index("ix_day_cohorts_day", "day"),
)

# Contacts that reached a stage on the day, per current persona.
DAY_STAGES = Table(
    "day_stages",
    METADATA,
    Column("day", Date, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("persona_id", Uuid, nullable=True),
    Column("contacts", Integer, nullable=False),
    Index("ix_day_stages_day", "day"),
)

DAY_TABLES = (DAY_ANSWERS, DAY_ANSWER_TOTALS, DAY_COHORT_WINDOWS, DAY_COHORTS, DAY_STAGES)
