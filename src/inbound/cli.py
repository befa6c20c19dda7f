"""The `inbound` command: serve, migrate, issue keys, run the worker, fill a demo, export the API
contract."""

import asyncio
import contextlib
import json
import signal
from datetime import timedelta
from pathlib import Path

import click
import uvicorn
import yaml
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

import inbound.models  # noqa: F401  (maps every table before the first flush)
from inbound import migrate
from inbound.auth.schemas import ApiKeyCreate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.config import Settings, SettingsError, get_settings
from inbound.crm.sync import CrmSync
from inbound.db import create_engine, create_sessionmaker, utcnow
from inbound.demo import DatabaseNotEmpty, DemoSummary, fill_demo
from inbound.hubspot_emulator import Emulator, Faults, RateLimit, Webhooks
from inbound.leads.models import RemapRun
from inbound.leads.qualification.remap import remap_forever, remap_if_changed, settle_seconds
from inbound.outage import DatabaseUnavailable, unavailability
from inbound.tracking.evaluation.command import evaluate_command
from inbound.tracking.nbc.signals import Refreshed, refresh_signals
from inbound.tracking.retention import Pruned, prune
from inbound.worker import Worker

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


def require_current_schema(database_url: str) -> None:
    """Refuse to start on a database that cannot be reached or is not migrated: the service
    would answer only errors."""
    problem = asyncio.run(migrate.schema_problem(database_url))
    if problem is not None:
        raise click.ClickException(problem)


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


@main.group("api-key")
def api_key() -> None:
    """Server-side API keys."""


@api_key.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([s.value for s in Scope if s is not Scope.INGEST]),
    help="A scope to grant; repeat for several.",
)
def api_key_create(name: str, scopes: tuple[str, ...]) -> None:
    """Issue a key and print it once, alone on the last line."""
    try:
        request = ApiKeyCreate.model_validate({"name": name, "scopes": list(scopes)})
    except ValidationError as exc:
        reasons = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise click.BadParameter(reasons) from None
    try:
        key_id, plain = asyncio.run(_issue_key(request.name, request.scopes))
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot store the key ({type(getattr(exc, 'orig', exc)).__name__}); "
            "is the database reachable and migrated (`inbound db upgrade`)?"
        ) from None
    click.echo(f"created API key {key_id} ({name}: {', '.join(sorted(scopes))})", err=True)
    click.echo("store it now; it is not shown again:", err=True)
    click.echo(plain)


async def _issue_key(name: str, scopes: list[Scope]) -> tuple[str, str]:
    engine = create_engine(get_settings().database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            api_key, plain = await ApiKeyService(session).issue(name=name, scopes=scopes)
            return str(api_key.id), plain
    finally:
        await engine.dispose()


@main.command()
@click.option("--contacts", type=click.IntRange(1, 5_000_000), default=30_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 1825), default=365, show_default=True,
              help="How far back the history goes.")  # fmt: skip
@click.option(
    "--seed", type=int, default=1, show_default=True, help="The same seed, the same data."
)
def demo(contacts: int, days: int, seed: int) -> None:
    """Fill an empty database with a synthetic year of inbound marketing to look at.

    A site, four personas, a dozen assets, and contacts who captured them and moved through
    the funnel, each persona at its own rate. Migrates the database first; refuses one that
    already holds personas, sites or contacts. Prints a `reports:read` key for the dashboard.
    """
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    try:
        summary = asyncio.run(_demo(contacts, days, seed))
    except DatabaseNotEmpty as exc:
        raise click.ClickException(str(exc)) from None
    rows = summary.loaded.rows
    click.echo(
        f"{rows['contacts']:,} contacts, {rows['captures']:,} captures and "
        f"{rows['stage_changes']:,} stage changes over the last {days} days, "
        f"{rows['events']:,} tracked events ({rows['identities']:,} contacts' browsers linked), "
        "in "
        f"{summary.loaded.seconds:.0f} s; personas mapped for {summary.mapped:,} contacts; "
        f"{summary.feedback['answers']:,} survey answers, {summary.feedback['cases']:,} "
        "follow-up cases",
        err=True,
    )
    click.echo(f"the demo site's public key: {summary.loaded.public_key}", err=True)
    click.echo(
        "with this database served (`inbound serve`), open http://127.0.0.1:8000/dashboard "
        "and sign in with this reports:read key:",
        err=True,
    )
    click.echo(summary.reports_key)


async def _demo(contacts: int, days: int, seed: int) -> DemoSummary:
    engine = create_engine(get_settings().database_url)
    try:
        return await fill_demo(engine, contacts=contacts, days=days, seed=seed)
    finally:
        await engine.dispose()


@main.group()
def leads() -> None:
    """Contacts and their persona mapping."""


@leads.command("remap")
@click.option("--force", is_flag=True, help="Re-map even when nothing changed since last time.")
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running, re-mapping whenever personas, tags or settings change "
    "(for a process of its own beside API processes started with "
    "INBOUND_REMAP_INTERVAL_SECONDS=0).",
)
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between looks."
)
def leads_remap(force: bool, watch: bool, interval: float) -> None:
    """Re-map every contact to its persona now, as the service does in the background."""
    if watch:
        asyncio.run(_watch(interval))
        return
    require_current_schema(get_settings().database_url)
    run = asyncio.run(_remap(force))
    if run is None:
        click.echo("nothing changed since the last pass (or another process is on it)")
    else:
        click.echo(f"checked {run.checked} contacts, changed {run.changed}")


async def _remap(force: bool) -> RemapRun | None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        return await remap_if_changed(
            create_sessionmaker(engine), force=force, settle=settle_seconds(settings.cache_seconds)
        )
    finally:
        await engine.dispose()


async def _watch(interval: float) -> None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        await remap_forever(
            create_sessionmaker(engine),
            interval,
            gentle=False,
            settle=settle_seconds(settings.cache_seconds),
        )
    finally:
        await engine.dispose()


@main.group()
def nbc() -> None:
    """Next-best content."""


@nbc.command("refresh")
def nbc_refresh() -> None:
    """Recompute co-visitation lift and click-through counts now, as the worker does."""
    require_current_schema(get_settings().database_url)
    done = asyncio.run(_nbc_refresh())
    if done is None:
        click.echo("another process is refreshing the signals now")
    else:
        click.echo(
            f"{done.visitors} visitors, {done.pairs} co-visited pairs, "
            f"{done.click_through} slot click-through counts"
        )


nbc.add_command(evaluate_command)


async def _nbc_refresh() -> Refreshed | None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            return await refresh_signals(
                connection,
                now=utcnow(),
                window_days=settings.nbc_window_days,
                min_together=settings.nbc_min_together,
            )
    finally:
        await engine.dispose()


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
    engine = create_engine(settings.database_url)
    running = Worker(engine, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Finish the round in hand; deliveries not yet sent stay pending for the next worker.
        loop.add_signal_handler(signum, stop.set)
    try:
        if until_idle:
            await running.until_idle()
        else:
            click.echo("worker started", err=True)
            await running.run(stop)
    finally:
        await running.close()
        await engine.dispose()


@main.group()
def tracking() -> None:
    """Behaviour events: their retention."""


@tracking.command("prune")
def tracking_prune() -> None:
    """Remove the events older than INBOUND_TRACKING_RETENTION_DAYS (whole months on
    PostgreSQL) and the message ids older than 48 hours, as the worker does hourly."""
    settings = get_settings()
    require_current_schema(settings.database_url)
    pruned = asyncio.run(_prune_events(settings))
    months = ", ".join(pruned.months) or "none"
    click.echo(
        f"months dropped: {months}; events deleted: {pruned.events}; "
        f"message ids forgotten: {pruned.messages}"
    )


async def _prune_events(settings: Settings) -> Pruned:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            return await prune(
                connection, utcnow(), timedelta(days=settings.tracking_retention_days)
            )
    finally:
        await engine.dispose()


@main.group()
def crm() -> None:
    """The HubSpot sync, and a local HubSpot to try it on."""


@crm.command("setup")
def crm_setup() -> None:
    """Create our contact properties (group `inbound`) in HubSpot now; the sync also does it
    on its first run."""
    settings = get_settings()
    if not settings.crm_enabled:
        raise click.ClickException("set INBOUND_HUBSPOT_TOKEN first")
    message = asyncio.run(_crm_setup())
    if message:
        raise click.ClickException(message)
    click.echo(f"properties ready in HubSpot at {settings.hubspot_url}")


async def _crm_setup() -> str | None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    sync = CrmSync(engine, settings)
    try:
        answer = await sync.set_up_properties()
        return None if answer.ok else f"HubSpot refused: {answer.status} {answer.message}"
    finally:
        sync.close()
        await engine.dispose()


@crm.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option(
    "--token",
    default="pat-na1-emulator",
    show_default=True,
    help="The access token it accepts (INBOUND_HUBSPOT_TOKEN).",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Added to every answer, as a distant data centre would.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Calls allowed per 10 seconds.",
)
@click.option(
    "--webhook-url",
    default=None,
    help="Where to post contact property changes, signed with --client-secret.",
)
@click.option("--client-secret", default="emulator-client-secret", show_default=True)
def crm_emulator(
    host: str, port: int, token: str, latency_ms: float, rate_limit: int,
    webhook_url: str | None, client_secret: str,
) -> None:  # fmt: skip
    """Serve a local HubSpot (the contact endpoints the sync uses) until stopped."""
    emulator = Emulator(
        host=host, port=port, token=token,
        rate_limit=RateLimit(limit=rate_limit),
        faults=Faults(latency_seconds=latency_ms / 1000),
        webhooks=Webhooks(target=webhook_url, client_secret=client_secret),
    )  # fmt: skip
    click.echo(f"HubSpot emulator on {emulator.url} (token {token})", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()


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
