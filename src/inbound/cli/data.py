"""Commands on the data: API keys, the demo, persona re-mapping, next-best content, event
retention."""

import asyncio
from datetime import timedelta

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from inbound import migrate
from inbound.auth.schemas import ApiKeyCreate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.cli.base import engine_of, main, require_current_schema
from inbound.config import Settings, get_settings
from inbound.db import create_sessionmaker, utcnow
from inbound.demo import DatabaseNotEmpty, DemoSummary, fill_demo
from inbound.leads.models import RemapRun
from inbound.leads.qualification.remap import remap_forever, remap_if_changed, settle_seconds
from inbound.tracking.evaluation.command import evaluate_command
from inbound.tracking.nbc.signals import Refreshed, refresh_signals
from inbound.tracking.retention import Pruned, prune


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
    async with engine_of() as engine, create_sessionmaker(engine)() as session, session.begin():
        api_key, plain = await ApiKeyService(session).issue(name=name, scopes=scopes)
        return str(api_key.id), plain


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
    async with engine_of() as engine:
        return await fill_demo(engine, contacts=contacts, days=days, seed=seed)


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
    settle = settle_seconds(get_settings().cache_seconds)
    async with engine_of() as engine:
        return await remap_if_changed(create_sessionmaker(engine), force=force, settle=settle)


async def _watch(interval: float) -> None:
    settle = settle_seconds(get_settings().cache_seconds)
    async with engine_of() as engine:
        await remap_forever(create_sessionmaker(engine), interval, gentle=False, settle=settle)


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
    async with engine_of(settings) as engine, engine.begin() as connection:
        return await refresh_signals(
            connection, now=utcnow(), window_days=settings.nbc_window_days,
            min_together=settings.nbc_min_together,
        )  # fmt: skip


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
    async with engine_of(settings) as engine, engine.begin() as connection:
        return await prune(connection, utcnow(), timedelta(days=settings.tracking_retention_days))
