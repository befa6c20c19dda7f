"""The service's JSON logging for the database outage tests."""

import pytest

from inbound.config import Settings
from inbound.observability import configure_logging


@pytest.fixture
def json_logs() -> None:
    """The service's logging, set before the test so that pytest's capture sees it."""
    configure_logging(Settings(log_level="INFO"))
