"""A local stand-in for the HubSpot endpoints the sync uses (`inbound crm emulator`)."""

from inbound.hubspot_emulator.limits import Faults, RateLimit
from inbound.hubspot_emulator.server import Emulator, Webhooks
from inbound.hubspot_emulator.store import Portal

__all__ = ["Emulator", "Faults", "Portal", "RateLimit", "Webhooks"]
