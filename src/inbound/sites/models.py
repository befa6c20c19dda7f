import uuid

from sqlmodel import Field

from inbound.db import JSONType, new_id
from inbound.tables import Versioned


class Site(Versioned, table=True):
    """A marketing site that posts forms to us from its allowed origins."""

    __tablename__ = "sites"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    allowed_origins: list[str] = Field(sa_type=JSONType)
    # How its pages may track visitors: `required` (only once the visitor consents),
    # `cookieless` (never an id kept on the device) or `granted` (consent is the site's own).
    tracking_consent: str = Field(default="required", max_length=16)
