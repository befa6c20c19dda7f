"""The `inbound crm` commands: the HubSpot sync's set-up, and a local HubSpot to try it on."""

import asyncio
import contextlib

import click

from inbound.cli.base import engine_of, main
from inbound.config import get_settings
from inbound.crm.sync import CrmSync
from inbound.hubspot_emulator import Emulator, Faults, RateLimit, Webhooks


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
    async with engine_of(settings) as engine:
        sync = CrmSync(engine, settings)
        try:
            answer = await sync.set_up_properties()
        finally:
            sync.close()
    return None if answer.ok else f"HubSpot refused: {answer.status} {answer.message}"


@crm.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--token", default="pat-na1-emulator", show_default=True,
              help="The access token it accepts (INBOUND_HUBSPOT_TOKEN).")  # fmt: skip
@click.option("--latency-ms", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Added to every answer, as a distant data centre would.")  # fmt: skip
@click.option("--rate-limit", type=click.IntRange(1), default=100, show_default=True,
              help="Calls allowed per 10 seconds.")  # fmt: skip
@click.option("--webhook-url", default=None, help="Where to post contact property changes, "
              "signed with --client-secret.")  # fmt: skip
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
