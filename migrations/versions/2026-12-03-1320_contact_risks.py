"""contact risks; the score ledger's index holds the points

Revision ID: c949036beb2c
Revises: e25db5223461
Create Date: 2026-12-03 13:04:45.329729
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c949036beb2c"
down_revision: str | None = "e25db5223461"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SCORE_INDEX = "ix_score_events_contact_id_kind_created_at"
SCORE_COLUMNS = ["contact_id", "kind", "created_at"]


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
        # Churn's engagement windows (and caps) sum a contact's points from the index alone.
        op.drop_index(SCORE_INDEX, table_name="score_events")
        op.create_index(SCORE_INDEX, "score_events", SCORE_COLUMNS, postgresql_include=["points"])
    op.create_table(
        "contact_risks",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crossed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_risks_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_risks")),
    )
    op.create_index(
        "ix_contact_risks_flagged_score",
        "contact_risks",
        ["score", "contact_id"],
        unique=False,
        postgresql_where=sa.text("at_risk"),
        sqlite_where=sa.text("at_risk"),
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
        op.drop_index(SCORE_INDEX, table_name="score_events")
        op.create_index(SCORE_INDEX, "score_events", SCORE_COLUMNS)
    op.drop_index(
        "ix_contact_risks_flagged_score",
        table_name="contact_risks",
        postgresql_where=sa.text("at_risk"),
        sqlite_where=sa.text("at_risk"),
    )
    op.drop_table("contact_risks")
