"""The app most tests share, and how each test gets it back as new."""

from dataclasses import dataclass
from typing import Any

from litestar import Litestar

from inbound.db import bind_of
from inbound.models import metadata
from inbound.surveys.links import LinkKeys
from inbound.tracking.writer import EventWriter

ALL_TABLES = {table.name for table in metadata.sorted_tables}


@dataclass(frozen=True)
class SharedApp:
    """An app built once, with its state as it was built."""

    app: Litestar
    state: dict[str, Any]

    async def reset(self) -> Litestar:
        """The app as a test expects it: its state as built, its caches and counters empty, an
        event writer of its own (the last test closed the one it used), and no survey-link key
        read from a database the last test rolled back."""
        state = self.app.state
        for name in set(state.dict()) - set(self.state):
            del state[name]
        for name, value in self.state.items():
            state[name] = value
        await state.rate_limiter.reset()
        for forget in state.tables_changed:
            await forget(ALL_TABLES)
        state.event_writer = EventWriter(lambda: bind_of(state.sessionmaker))
        state.survey_link_keys = LinkKeys(state.settings.signing_key)
        return self.app
