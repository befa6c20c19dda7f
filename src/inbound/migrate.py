"""Apply the schema migrations (Alembic) to a database."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from inbound.db import create_engine

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


def head_revision() -> str:
    """The newest revision this version of inbound knows."""
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ",".join(sorted(heads))


def known_revisions() -> set[str]:
    """Every revision this version of inbound knows."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {revision.revision for revision in script.walk_revisions()}


async def current_revision(database_url: str) -> str | None:
    """The revision the database's schema is at; None when it was never migrated.

    Raises `DatabaseUnavailable` when the database cannot be reached.
    """
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            heads = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
    finally:
        await engine.dispose()
    return ",".join(sorted(heads)) or None


async def schema_problem(database_url: str) -> str | None:
    """Why the service cannot run on this database's schema, or None when it is current.

    A schema newer than this version knows is accepted: during a rolling upgrade, processes
    of the previous version keep running beside the migrated database.
    """
    current = await current_revision(database_url)
    head = head_revision()
    if current is None:
        return "the database has no schema yet; run `inbound db upgrade` (or serve with --migrate)"
    if current != head and set(current.split(",")) <= known_revisions():
        return (
            f"the database schema is out of date (at {current}, this version needs {head}); "
            "run `inbound db upgrade` (or serve with --migrate)"
        )
    return None
