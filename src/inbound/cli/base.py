"""The `inbound` command group, and what its commands share: a bad setting or an unreachable
database ends any of them with one line, and each opens the database the settings name."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click
from alembic.util import CommandError
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

import inbound.models  # noqa: F401  (maps every table before the first flush)
from inbound import migrate
from inbound.config import Settings, SettingsError, get_settings
from inbound.db import create_engine
from inbound.outage import DatabaseUnavailable, unavailability

# What a usage error exits with, by convention (click's own, for a bad option, too).
USAGE_ERROR = 2


class InboundGroup(click.Group):
    """The `inbound` command: a bad setting or an unreachable database ends any subcommand
    with one line naming the cause, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(USAGE_ERROR)
        except DatabaseUnavailable as error:
            database = make_url(get_settings().database_url).render_as_string(hide_password=True)
            click.echo(f"Error: cannot reach the database {database}: "
                       f"{unavailability(error)}", err=True)  # fmt: skip
            ctx.exit(1)
        except CommandError as error:  # Alembic's: an unknown or unreachable revision
            click.echo(f"Error: {' '.join(str(error).split())}", err=True)
            ctx.exit(1)


@click.group(cls=InboundGroup)
def main() -> None:
    """inbound: an inbound-marketing backend. Settings come from INBOUND_* variables."""


def require_current_schema(database_url: str) -> None:
    """Refuse to start on a database that cannot be reached or is not migrated: the service
    would answer only errors."""
    problem = asyncio.run(migrate.schema_problem(database_url))
    if problem is not None:
        raise click.ClickException(problem)


@asynccontextmanager
async def engine_of(settings: Settings | None = None) -> AsyncIterator[AsyncEngine]:
    """An engine on the configured database, disposed of when the block ends."""
    engine = create_engine((settings or get_settings()).database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
