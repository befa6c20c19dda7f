"""A local stand-in for the HubSpot endpoints the sync uses (`inbound crm emulator`)."""

from inbound.crm.emulator.limits import Faults, RateLimit
from inbound.crm.emulator.server import Emulator, Webhooks
from inbound.crm.emulator.store import Portal

__all__ = ["Emulator", "Faults", "Portal", "RateLimit", "Webhooks"]
