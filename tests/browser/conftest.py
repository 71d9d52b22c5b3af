"""Browser tests: Debian's chromium driven by Playwright against Django's live server.

Screenshots are saved under test-artifacts/ (kept by CI as the run's artifacts).
"""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still
# plain synchronous calls, so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Debian chromium is required for browser tests (scripts/test installs it: apt-get install chromium)")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_site(live_server, settings):
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    return live_server.url


def _context(browser, **options):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def phone(browser):
    """A phone-sized screen (iPhone 12/13/14: 390 × 844)."""
    context = _context(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                       has_touch=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser):
    context = _context(browser, viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def shot(request):
    """shot(page, "name") saves a full-page screenshot for this test."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
