"""create contacts captures stages and scores

Revision ID: c34c223e8fa7
Revises: b6714144c09b
Create Date: 2026-11-24 10:54:07.082662+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c34c223e8fa7"
down_revision: str | None = "b6714144c09b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    op.create_table(
        "lead_settings",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lead_settings")),
    )
    op.create_table(
        "remap_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remap_runs")),
    )
    with op.batch_alter_table("remap_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remap_runs_fingerprint"), ["fingerprint"], unique=False
        )

    op.create_table(
        "capture_idempotency_keys",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("capture_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_capture_idempotency_keys_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "key", name=op.f("pk_capture_idempotency_keys")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("job_title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("company_size", sa.Integer(), nullable=True),
        sa.Column("seniority", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column(
            "custom_fields",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "topics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscriber_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mql_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sql_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opportunity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evangelist_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("persona_id", sa.Uuid(), nullable=True),
        sa.Column("persona_source", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("persona_confidence", sa.Float(), nullable=True),
        sa.Column(
            "persona_explanation",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "touches", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("touches_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fit", sa.Float(), nullable=False),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("score_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "consent_text_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        ),
        sa.Column("consent_capture_id", sa.Uuid(), nullable=True),
        sa.Column("first_site_id", sa.Uuid(), nullable=True),
        sa.Column("first_asset_id", sa.Uuid(), nullable=True),
        sa.Column("first_utm_source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("first_utm_medium", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "first_utm_campaign", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("first_utm_term", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("first_utm_content", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("first_referrer", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["first_asset_id"],
            ["content_assets.id"],
            name=op.f("fk_contacts_first_asset_id_content_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["first_site_id"],
            ["sites.id"],
            name=op.f("fk_contacts_first_site_id_sites"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_contacts_persona_id_personas"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("email", name=op.f("uq_contacts_email")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_persona_id_id", ["persona_id", "id"], unique=False)
        batch_op.create_index("ix_contacts_stage_id", ["stage", "id"], unique=False)

    op.create_table(
        "captures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column(
            "fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("consent", sa.Boolean(), nullable=True),
        sa.Column(
            "consent_text_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        ),
        sa.Column("utm_source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("utm_medium", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("utm_campaign", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("utm_term", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("utm_content", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("referrer", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("page_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("ip_prefix", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("visitor_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["content_assets.id"],
            name=op.f("fk_captures_asset_id_content_assets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_captures_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_captures_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captures")),
    )
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index("ix_captures_asset_id_id", ["asset_id", "id"], unique=False)
        batch_op.create_index("ix_captures_contact_id_id", ["contact_id", "id"], unique=False)
        batch_op.create_index("ix_captures_site_id_id", ["site_id", "id"], unique=False)

    op.create_table(
        "score_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("capped", sa.Boolean(), nullable=False),
        sa.Column("capture_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_score_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_events")),
    )
    with op.batch_alter_table("score_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_score_events_contact_id_kind_created_at",
            ["contact_id", "kind", "created_at"],
            unique=False,
        )

    op.create_table(
        "stage_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("to_stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("capture_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_stage_changes_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_changes")),
    )
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.create_index("ix_stage_changes_contact_id_id", ["contact_id", "id"], unique=False)
        batch_op.create_index(
            "ix_stage_changes_to_stage_changed_at", ["to_stage", "changed_at"], unique=False
        )



def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    with op.batch_alter_table("stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_changes_to_stage_changed_at")
        batch_op.drop_index("ix_stage_changes_contact_id_id")

    op.drop_table("stage_changes")
    with op.batch_alter_table("score_events", schema=None) as batch_op:
        batch_op.drop_index("ix_score_events_contact_id_kind_created_at")

    op.drop_table("score_events")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index("ix_captures_site_id_id")
        batch_op.drop_index("ix_captures_contact_id_id")
        batch_op.drop_index("ix_captures_asset_id_id")

    op.drop_table("captures")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_stage_id")
        batch_op.drop_index("ix_contacts_persona_id_id")

    op.drop_table("contacts")
    op.drop_table("capture_idempotency_keys")
    with op.batch_alter_table("remap_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remap_runs_fingerprint"))

    op.drop_table("remap_runs")
    op.drop_table("lead_settings")
