"""Headless Chromium for the browser tests: a browser per test module, a new context per test."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def viewport() -> ViewportSize:
    """The window the page opens in; a module that needs a taller one overrides this."""
    return {"width": 1280, "height": 900}


@pytest.fixture
def page(browser: Browser, viewport: ViewportSize) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()
