"""feedback cases

Revision ID: e25db5223461
Revises: ed5147124274
Create Date: 2026-12-03 12:57:02.678360
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = "e25db5223461"
down_revision: str | None = "ed5147124274"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    op.create_table(
        "feedback_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("answer_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("touchpoint_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'contacted', 'resolved')",
            name=op.f("ck_feedback_cases_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["survey_answers.id"],
            name=op.f("fk_feedback_cases_answer_id_survey_answers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_feedback_cases_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_feedback_cases_survey_id_surveys"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["touchpoint_id"],
            ["touchpoints.id"],
            name=op.f("fk_feedback_cases_touchpoint_id_touchpoints"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_cases")),
        sa.UniqueConstraint("answer_id", name=op.f("uq_feedback_cases_answer_id")),
    )
    op.create_index(
        op.f("ix_feedback_cases_contact_id"), "feedback_cases", ["contact_id"], unique=False
    )
    op.create_index(
        "ix_feedback_cases_due_at_unresolved",
        "feedback_cases",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status <> 'resolved'"),
        sqlite_where=sa.text("status <> 'resolved'"),
    )
    op.create_index(
        op.f("ix_feedback_cases_survey_id"), "feedback_cases", ["survey_id"], unique=False
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    op.drop_index(op.f("ix_feedback_cases_survey_id"), table_name="feedback_cases")
    op.drop_index(
        "ix_feedback_cases_due_at_unresolved",
        table_name="feedback_cases",
        postgresql_where=sa.text("status <> 'resolved'"),
        sqlite_where=sa.text("status <> 'resolved'"),
    )
    op.drop_index(op.f("ix_feedback_cases_contact_id"), table_name="feedback_cases")
    op.drop_table("feedback_cases")
