"""survey window source and answer indexes

Revision ID: 5cefae301578
Revises: 7b3f1c9a2d64
Create Date: 2026-12-03 13:14:50.672322
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "5cefae301578"
down_revision: str | None = "7b3f1c9a2d64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME, TABLE = "ix_survey_answers_metric_answered_at", "survey_answers"
REBUILT = "ix_survey_answers_metric_answered_at_rebuilt"
# The report's filter on `source` (link or public) is then read from the index alone too.
INCLUDED = ["touchpoint_id", "survey_id", "persona_id", "stage", "source", "scale_max", "score"]
INCLUDED_BEFORE = ["touchpoint_id", "survey_id", "persona_id", "stage", "scale_max", "score"]
# A browser's anonymous answers, found when the lead it is linked to is erased.
BY_BROWSER = "ix_survey_answers_visitor_id_anonymous"
ANONYMOUS_WITH_BROWSER = sa.text("contact_id IS NULL AND visitor_id IS NOT NULL")
# A window taken by a signed link's answer: the contact's link answer of that very instant.
TAKEN_BY_LINKS = """
UPDATE survey_respondents SET source = 'link'
WHERE contact_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM survey_answers AS a
    WHERE a.survey_id = survey_respondents.survey_id
      AND a.contact_id = survey_respondents.contact_id
      AND a.answered_at = survey_respondents.answered_at
      AND a.source = 'link'
)
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    op.add_column(
        "survey_respondents",
        sa.Column(
            "source",
            sqlmodel.sql.sqltypes.AutoString(length=8),
            server_default="public",
            nullable=False,
        ),
    )
    op.execute(TAKEN_BY_LINKS)
    _rebuild_report_index(INCLUDED)
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                BY_BROWSER, TABLE, ["visitor_id"], postgresql_where=ANONYMOUS_WITH_BROWSER,
                postgresql_concurrently=True, if_not_exists=True,
            )  # fmt: skip
    else:
        op.create_index(BY_BROWSER, TABLE, ["visitor_id"], sqlite_where=ANONYMOUS_WITH_BROWSER)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
        with op.get_context().autocommit_block():
            op.drop_index(BY_BROWSER, table_name=TABLE, postgresql_concurrently=True)
    else:
        op.drop_index(BY_BROWSER, table_name=TABLE)
    _rebuild_report_index(INCLUDED_BEFORE)
    op.drop_column("survey_respondents", "source")


def _rebuild_report_index(included: list[str]) -> None:
    """The report's index with these columns; built beside the old one without blocking
    answers on PostgreSQL, which includes nothing on SQLite."""
    if op.get_context().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        op.create_index(
            REBUILT, TABLE, ["metric", "answered_at"], postgresql_include=included,
            postgresql_concurrently=True, if_not_exists=True,
        )  # fmt: skip
        op.drop_index(NAME, table_name=TABLE, postgresql_concurrently=True)
        op.execute(f"ALTER INDEX {REBUILT} RENAME TO {NAME}")
