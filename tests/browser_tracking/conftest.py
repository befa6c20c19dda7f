"""A fresh browser context per inbound.js test, on the faked service."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.tracking_site import TrackedSite


@pytest.fixture
def site(browser: Browser) -> Iterator[TrackedSite]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield TrackedSite(context)
    context.close()
