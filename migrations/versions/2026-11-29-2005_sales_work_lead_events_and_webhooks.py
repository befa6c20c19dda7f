"""sales work, lead events and webhooks

Revision ID: 2e8cb0404c64
Revises: 5d2e8f3a9c41
Create Date: 2026-11-29 20:05:28.405209+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2e8cb0404c64"
down_revision: str | None = "5d2e8f3a9c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNED = sa.text("owner IS NOT NULL")
CONTACT_INDEXES: list[tuple[str, list[str], dict[str, object]]] = [
    ("ix_contacts_change_seq_id", ["change_seq", "id"], {}),
    ("ix_contacts_owner", ["owner"], {"postgresql_where": OWNED, "sqlite_where": OWNED}),
    ("ix_contacts_updated_at", ["updated_at"], {}),
]

# A contact's `change_seq` moves with its version, whoever writes it. On PostgreSQL it is the
# writing transaction's id: a reader that stops below the oldest transaction still running
# has seen every change that will ever sort before that point. SQLite runs one writer at a
# time, so one past the highest number is already in commit order.
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION contacts_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' OR NEW.version IS DISTINCT FROM OLD.version THEN
            NEW.change_seq := pg_current_xact_id()::text::bigint;
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER contacts_change_seq BEFORE INSERT OR UPDATE ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_change_seq()""",
)
SQLITE_TRIGGERS = (
    """CREATE TRIGGER contacts_change_seq_insert AFTER INSERT ON contacts BEGIN
        UPDATE contacts SET change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM contacts)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER contacts_change_seq_update AFTER UPDATE OF version ON contacts
    WHEN NEW.version IS NOT OLD.version BEGIN
        UPDATE contacts SET change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM contacts)
        WHERE id = NEW.id;
    END""",
)


def _create_triggers() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def _drop_triggers() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contacts_change_seq ON contacts")
        op.execute("DROP FUNCTION contacts_change_seq()")
    else:
        op.execute("DROP TRIGGER contacts_change_seq_insert")
        op.execute("DROP TRIGGER contacts_change_seq_update")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column(
            "events", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "lead_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("lead_version", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["contacts.id"],
            name=op.f("fk_lead_events_lead_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_lead_events")),
        sa.UniqueConstraint("id", name=op.f("uq_lead_events_id")),
    )
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.create_index("ix_lead_events_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("ix_lead_events_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index(
            "ix_lead_events_undispatched",
            ["seq"],
            unique=False,
            postgresql_where=sa.text("dispatched_at IS NULL"),
            sqlite_where=sa.text("dispatched_at IS NULL"),
        )

    op.create_table(
        "lead_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_lead_notes_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_notes")),
    )
    with op.batch_alter_table("lead_notes", schema=None) as batch_op:
        batch_op.create_index("ix_lead_notes_contact_id_id", ["contact_id", "id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("lead_sequence", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("give_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["lead_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_lead_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_chain",
            ["subscription_id", "lead_id", "lead_sequence"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_webhook_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_webhook_deliveries_subscription_id_id", ["subscription_id", "id"], unique=False
        )
        batch_op.create_index("ix_webhook_deliveries_event_id", ["event_id"], unique=False)

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_attempts_delivery_id_id", ["delivery_id", "id"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("owned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lead_status",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="new",
            )
        )
        batch_op.add_column(sa.Column("lead_status_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    _create_triggers()
    if op.get_context().dialect.name == "postgresql":
        # Built without blocking captures on a live database: outside a transaction.
        with op.get_context().autocommit_block():
            for name, columns, options in CONTACT_INDEXES:
                op.create_index(
                    name, "contacts", columns, postgresql_concurrently=True, if_not_exists=True,
                    **options,
                )  # fmt: skip
    else:
        for name, columns, options in CONTACT_INDEXES:
            op.create_index(name, "contacts", columns, **options)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    for name, _, _ in CONTACT_INDEXES:
        op.drop_index(name, table_name="contacts")
    _drop_triggers()
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("change_seq")
        batch_op.drop_column("lead_status_at")
        batch_op.drop_column("lead_status")
        batch_op.drop_column("owned_at")
        batch_op.drop_column("owner")

    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_delivery_id_id")

    op.drop_table("webhook_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_event_id")
        batch_op.drop_index("ix_webhook_deliveries_subscription_id_id")
        batch_op.drop_index(
            "ix_webhook_deliveries_due",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(
            "ix_webhook_deliveries_chain",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("lead_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_notes_contact_id_id")

    op.drop_table("lead_notes")
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_lead_events_undispatched",
            postgresql_where=sa.text("dispatched_at IS NULL"),
            sqlite_where=sa.text("dispatched_at IS NULL"),
        )
        batch_op.drop_index("ix_lead_events_occurred_at")
        batch_op.drop_index("ix_lead_events_lead_id")

    op.drop_table("lead_events")
    op.drop_table("webhook_subscriptions")
