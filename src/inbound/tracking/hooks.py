"""What else happens when the writer has stored a batch of events, in the same transaction."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


async def events_stored(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Called by the event writer in the transaction that stored ``rows`` (the columns of
    `TrackingEvent`, duplicates already left out), after storing them."""
