"""join the identity and next-best-content migrations, both made on the tracking tables

Both were made on 7ae02347bf33 at the same time; this empty revision makes them one head again.

Revision ID: dcf47185278b
Revises: 8d7f08a80904, 9dd2d203b799
Create Date: 2026-12-03 06:43:44.251013+00:00
"""

from collections.abc import Sequence

revision: str = "dcf47185278b"
down_revision: str | tuple[str, ...] | None = ("8d7f08a80904", "9dd2d203b799")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
