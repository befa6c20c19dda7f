"""An empty database for the `inbound` command tests."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _base_url, is_sqlite
from tests.support.live_server import _drop_database, _fresh_database


@pytest.fixture
def empty_database(worker_id: str, tmp_path: Path) -> Iterator[str]:
    """A database of the kind under test with no schema in it."""
    base = _base_url()
    name = f"inbound_empty_{worker_id}"
    url = _fresh_database(base, name, tmp_path)
    yield url
    if not is_sqlite(url):
        asyncio.run(_drop_database(base, name))
