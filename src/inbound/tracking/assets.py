"""Which content asset an event is about: the asset its `properties.asset` names by slug or
id, or the asset whose public URL is the page's.

Every live asset's slug, id and URL are read at once and kept by `CaptureReference` with its
other reference data, so that resolving an event costs two dictionary lookups.
"""

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.content.models import ContentAsset

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class AssetIndex:
    """Live assets by slug and by id (as text), and by normalised public URL."""

    by_ref: dict[str, uuid.UUID] = field(default_factory=dict)
    by_url: dict[str, uuid.UUID] = field(default_factory=dict)

    def resolve(self, ref: object, url: str | None) -> uuid.UUID | None:
        """The asset an event names, else the asset at its page's URL, else None."""
        if isinstance(ref, str) and ref:
            found = self.by_ref.get(ref) or self.by_ref.get(ref.lower())
            if found is not None:
                return found
        if url:
            normalised = normalise_url(url)
            if normalised is not None:
                return self.by_url.get(normalised)
        return None


def normalise_url(url: str) -> str | None:
    """A page's address without query and fragment, its scheme and host in lower case, its
    default port and trailing slash left out; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{host}{path}"


async def load_asset_index(session: AsyncSession) -> AssetIndex:
    """Read every live asset's slug, id and public URL."""
    statement = select(col(ContentAsset.id), col(ContentAsset.slug), col(ContentAsset.url)).where(
        col(ContentAsset.archived).is_(False)
    )
    index = AssetIndex()
    for asset_id, slug, url in await session.execute(statement):
        index.by_ref[slug] = asset_id
        index.by_ref[str(asset_id)] = asset_id
        normalised = normalise_url(url) if url else None
        if normalised is not None:
            index.by_url.setdefault(normalised, asset_id)
    return index
