"""Every table, imported once so that Alembic and the mapper see the whole schema."""

from sqlmodel import SQLModel

from inbound.auth.models import ApiKey
from inbound.content.models import AssetPersona, AssetTopic, ContentAsset
from inbound.leads.models import (
    Capture,
    CaptureIdempotencyKey,
    Contact,
    LeadSetting,
    RemapRun,
    ScoreEvent,
    StageChange,
)
from inbound.personas.models import Persona
from inbound.sites.models import Site

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "AssetPersona",
    "AssetTopic",
    "Capture",
    "CaptureIdempotencyKey",
    "Contact",
    "ContentAsset",
    "LeadSetting",
    "Persona",
    "RemapRun",
    "ScoreEvent",
    "Site",
    "StageChange",
    "metadata",
]
