import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id
from inbound.tables import Versioned


class AssetKind(StrEnum):
    BLOG_POST = "blog_post"
    EBOOK = "ebook"
    WHITEPAPER = "whitepaper"
    WEBINAR = "webinar"
    CASE_STUDY = "case_study"
    CHECKLIST = "checklist"
    TEMPLATE = "template"
    VIDEO = "video"
    DEMO = "demo"
    TRIAL = "trial"
    GUIDE = "guide"
    REPORT = "report"
    INFOGRAPHIC = "infographic"
    PODCAST = "podcast"
    COURSE = "course"
    TOOL = "tool"
    NEWSLETTER = "newsletter"
    OTHER = "other"


class FunnelStage(StrEnum):
    """The phase of the inbound method an asset serves."""

    ATTRACT = "attract"
    CONVERT = "convert"
    CLOSE = "close"
    DELIGHT = "delight"


class ContentAsset(Versioned, table=True):
    """A piece of content; a gated one is exchanged for a visitor's contact details."""

    __tablename__ = "content_assets"
    __table_args__ = (
        Index("ix_content_assets_kind_id", "kind", "id"),
        Index("ix_content_assets_funnel_stage_id", "funnel_stage", "id"),
        Index("ix_content_assets_archived_id", "archived", "id"),
        Index("ix_content_assets_gated_id", "gated", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=Text)
    kind: str = Field(max_length=32)
    funnel_stage: str = Field(max_length=16)
    url: str | None = Field(default=None, max_length=2048)
    gated: bool = False
    form_fields: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    delivery_url: str | None = Field(default=None, max_length=2048)
    archived: bool = False
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AssetTopic(SQLModel, table=True):
    """A topic an asset covers; one row each so that the topic filter has an index."""

    __tablename__ = "asset_topics"
    __table_args__ = (Index("ix_asset_topics_topic_asset_id", "topic", "asset_id"),)

    asset_id: uuid.UUID = Field(
        foreign_key="content_assets.id", ondelete="CASCADE", primary_key=True
    )
    topic: str = Field(max_length=64, primary_key=True)


class AssetPersona(SQLModel, table=True):
    """An asset tagged to a persona, with how relevant it is to them."""

    __tablename__ = "asset_personas"
    __table_args__ = (
        Index("ix_asset_personas_persona_id_asset_id", "persona_id", "asset_id"),
        CheckConstraint("relevance BETWEEN 1 AND 3", name="relevance_range"),
    )

    asset_id: uuid.UUID = Field(
        foreign_key="content_assets.id", ondelete="CASCADE", primary_key=True
    )
    persona_id: uuid.UUID = Field(foreign_key="personas.id", ondelete="CASCADE", primary_key=True)
    relevance: int = 2
