import uuid
from datetime import datetime

from pydantic import Field, field_validator

from inbound.auth.scopes import Scope
from inbound.schemas import RequestSchema, ResponseSchema


class ApiKeyCreate(RequestSchema):
    """A new server-side key."""

    name: str = Field(min_length=1, max_length=100, examples=["content team"])
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope), examples=[["content:write"]])

    @field_validator("scopes")
    @classmethod
    def _no_site_scope(cls, scopes: list[Scope]) -> list[Scope]:
        if Scope.INGEST in scopes:
            raise ValueError("ingest keys belong to a site: create them under /api/v1/sites")
        return sorted(set(scopes))


class ApiKeyRead(ResponseSchema):
    """A key as lists show it: never the key itself."""

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    scopes: list[Scope]
    site_id: uuid.UUID | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """A key just made: the only answer that carries the key."""

    key: str = Field(description="The full key. It is shown only this once; store it now.")
