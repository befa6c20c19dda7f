"""Commands that run the service: the API, the worker, the schema, the API contract."""

import asyncio
import json
import signal
from pathlib import Path

import click
import uvicorn
import yaml

from inbound import migrate
from inbound.cli.base import engine_of, main, require_current_schema
from inbound.config import get_settings
from inbound.worker import Worker


@main.command()
@click.option("--host", default=None, help="Interface to bind [INBOUND_HOST, 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port [INBOUND_PORT, 8000].")  # fmt: skip
@click.option(
    "--migrate/--no-migrate",
    "run_migrations",
    default=False,
    help="Upgrade the database first; without it, a database not at the newest schema "
    "stops the start.",
)
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Processes to run.")  # fmt: skip
def serve(host: str | None, port: int | None, run_migrations: bool, workers: int) -> None:
    """Serve the HTTP API."""
    settings = get_settings()
    if run_migrations:
        migrate.upgrade(settings.database_url)
    require_current_schema(settings.database_url)
    uvicorn.run(
        "inbound.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        # The application believes forwarded headers from INBOUND_TRUSTED_PROXIES only.
        proxy_headers=False,
    )


@main.group()
def db() -> None:
    """Database schema."""


# `-1` is a revision (one step back), not an option.
RELATIVE_REVISIONS = {"ignore_unknown_options": True}


@db.command("upgrade", context_settings=RELATIVE_REVISIONS)
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest; `+1` one step)."""
    database_url = get_settings().database_url
    migrate.upgrade(database_url, revision)
    _report_revision(database_url)


@db.command("downgrade", context_settings=RELATIVE_REVISIONS)
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`-1` one step, `-2` two, `base` empties the schema)."""
    database_url = get_settings().database_url
    if revision.startswith("-") and asyncio.run(migrate.current_revision(database_url)) is None:
        raise click.ClickException("nothing to downgrade: the database has no schema")
    migrate.downgrade(database_url, revision)
    _report_revision(database_url)


def _report_revision(database_url: str) -> None:
    current = asyncio.run(migrate.current_revision(database_url))
    head = " (the newest)" if current == migrate.head_revision() else ""
    click.echo(f"database at {current or 'base'}{head}")


@main.command()
@click.option(
    "--until-idle",
    is_flag=True,
    help="Make each periodic pass once, then stop once nothing is left to do now, instead of "
    "waiting.",
)
def worker(until_idle: bool) -> None:
    """Deliver lead events to webhook subscriptions and sync contacts to HubSpot (with
    INBOUND_HUBSPOT_TOKEN), with retries, and make the periodic passes (churn risks,
    next-best-content signals, report days); runs until stopped."""
    require_current_schema(get_settings().database_url)
    asyncio.run(_work(until_idle))


async def _work(until_idle: bool) -> None:
    settings = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Finish the round in hand; deliveries not yet sent stay pending for the next worker.
        loop.add_signal_handler(signum, stop.set)
    async with engine_of(settings) as engine:
        running = Worker(engine, settings)
        try:
            if until_idle:
                await running.until_idle()
            else:
                click.echo("worker started", err=True)
                await running.run(stop)
        finally:
            await running.close()


@main.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (.json or .yaml); standard output when left out.",
)
def openapi(output: Path | None) -> None:
    """Export the OpenAPI document generated from the code."""
    from inbound.app import create_app
    from inbound.contract import openapi_document

    document = openapi_document(create_app())
    if output is not None and output.suffix in {".yaml", ".yml"}:
        text = yaml.safe_dump(document, sort_keys=True, allow_unicode=True)
    else:
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
