import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict, StringConstraints, WithJsonSchema, field_validator

from inbound.auth.scopes import Scope
from inbound.schemas import NOT_BLANK, RequestSchema, ResponseSchema

# Public `ingest` keys belong to sites; the contract lists only the scopes a server key may hold.
GrantableScope = Annotated[
    Scope,
    Strict(False),
    WithJsonSchema({"type": "string", "enum": [s.value for s in Scope if s is not Scope.INGEST]}),
]


class ApiKeyCreate(RequestSchema):
    """A new server-side key."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK)] = (
        Field(examples=["content team"])
    )
    scopes: list[GrantableScope] = Field(
        min_length=1, max_length=len(Scope), examples=[["content:write"]]
    )

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
