"""Every table, imported once so that Alembic and the mapper see the whole schema."""

from sqlmodel import SQLModel

from inbound.auth.models import ApiKey, DashboardSession
from inbound.churn.models import ContactRisk
from inbound.content.models import AssetPersona, AssetTopic, ContentAsset
from inbound.crm.models import CrmContact, CrmErasure, CrmInboundMark, CrmResync, CrmSyncState
from inbound.leads.models import (
    Capture,
    CaptureIdempotencyKey,
    Contact,
    LeadEvent,
    LeadNote,
    LeadSetting,
    RemapRun,
    ScoreEvent,
    StageChange,
)
from inbound.personas.models import Persona
from inbound.reports.daily import tables as report_day_tables
from inbound.sites.models import Site
from inbound.surveys.models import (
    FeedbackCase,
    SigningKey,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    Touchpoint,
)
from inbound.tracking.models import (
    EngagementTask,
    IdentityMerge,
    TrackingEvent,
    TrackingMessage,
    VisitorIdentity,
)
from inbound.tracking.nbc.models import NbcClickThrough, NbcCovisit, NbcRule, NbcSetting
from inbound.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "AssetPersona",
    "AssetTopic",
    "Capture",
    "CaptureIdempotencyKey",
    "Contact",
    "ContactRisk",
    "ContentAsset",
    "CrmContact",
    "CrmErasure",
    "CrmInboundMark",
    "CrmResync",
    "CrmSyncState",
    "DashboardSession",
    "EngagementTask",
    "FeedbackCase",
    "IdentityMerge",
    "LeadEvent",
    "LeadNote",
    "LeadSetting",
    "NbcClickThrough",
    "NbcCovisit",
    "NbcRule",
    "NbcSetting",
    "Persona",
    "RemapRun",
    "ScoreEvent",
    "SigningKey",
    "Site",
    "StageChange",
    "Survey",
    "SurveyAnswer",
    "SurveyRespondent",
    "Touchpoint",
    "TrackingEvent",
    "TrackingMessage",
    "VisitorIdentity",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
    "report_day_tables",
]
