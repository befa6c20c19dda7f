"""Apply the schema migrations (Alembic) to a database."""

from pathlib import Path

from alembic import command
from alembic.config import Config

_PACKAGE = Path(__file__).resolve().parent
# An installed wheel carries the migrations inside the package; a checkout has them at its root.
_CANDIDATES = (_PACKAGE / "_migrations", _PACKAGE.parent.parent / "migrations")


def migrations_dir() -> Path:
    """Where the migration scripts are."""
    for candidate in _CANDIDATES:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("no migrations directory next to the inbound package")


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for this database, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser reads % as interpolation; URLs may contain it (encoded passwords).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database's schema up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database's schema back to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)
