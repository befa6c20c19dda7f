"""create sites keys personas and content

Revision ID: 85489161a709
Revises:
Create Date: 2026-11-24 06:41:38.460467+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "85489161a709"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    op.create_table(
        "content_assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("funnel_stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("gated", sa.Boolean(), nullable=False),
        sa.Column(
            "form_fields",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("delivery_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_assets")),
        sa.UniqueConstraint("slug", name=op.f("uq_content_assets_slug")),
    )
    with op.batch_alter_table("content_assets", schema=None) as batch_op:
        batch_op.create_index("ix_content_assets_archived_id", ["archived", "id"], unique=False)
        batch_op.create_index(
            "ix_content_assets_funnel_stage_id", ["funnel_stage", "id"], unique=False
        )
        batch_op.create_index("ix_content_assets_gated_id", ["gated", "id"], unique=False)
        batch_op.create_index("ix_content_assets_kind_id", ["kind", "id"], unique=False)

    op.create_table(
        "personas",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "goals",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "pain_points",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
        sa.UniqueConstraint("slug", name=op.f("uq_personas_slug")),
    )
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.create_index("ix_personas_archived_id", ["archived", "id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "allowed_origins",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_api_keys_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_site_id"), ["site_id"], unique=False)

    op.create_table(
        "asset_personas",
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("persona_id", sa.Uuid(), nullable=False),
        sa.Column("relevance", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "relevance BETWEEN 1 AND 3", name=op.f("ck_asset_personas_relevance_range")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["content_assets.id"],
            name=op.f("fk_asset_personas_asset_id_content_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_asset_personas_persona_id_personas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "persona_id", name=op.f("pk_asset_personas")),
    )
    with op.batch_alter_table("asset_personas", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_personas_persona_id_asset_id", ["persona_id", "asset_id"], unique=False
        )

    op.create_table(
        "asset_topics",
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["content_assets.id"],
            name=op.f("fk_asset_topics_asset_id_content_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "topic", name=op.f("pk_asset_topics")),
    )
    with op.batch_alter_table("asset_topics", schema=None) as batch_op:
        batch_op.create_index("ix_asset_topics_topic_asset_id", ["topic", "asset_id"], unique=False)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    with op.batch_alter_table("asset_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_topics_topic_asset_id")

    op.drop_table("asset_topics")
    with op.batch_alter_table("asset_personas", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_personas_persona_id_asset_id")

    op.drop_table("asset_personas")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_site_id"))

    op.drop_table("api_keys")
    op.drop_table("sites")
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.drop_index("ix_personas_archived_id")

    op.drop_table("personas")
    with op.batch_alter_table("content_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_content_assets_kind_id")
        batch_op.drop_index("ix_content_assets_gated_id")
        batch_op.drop_index("ix_content_assets_funnel_stage_id")
        batch_op.drop_index("ix_content_assets_archived_id")

    op.drop_table("content_assets")
