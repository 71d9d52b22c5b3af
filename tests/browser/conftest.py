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
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_site(live_server, settings):
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    # The live server serves /static/ from the app folders by their plain names (its handler runs before
    # WhiteNoise), so the pages must ask for plain names, not the manifest's hashed ones.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return live_server.url


def _context(browser, **options):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(15_000)
    return context


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser):
    """A phone-sized screen (iPhone 12/13/14: 390 × 844)."""
    context = _context(browser, **PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def new_phone(browser):
    """new_phone() opens one more phone like `phone`, a separate browser with cookies of its own (a friend's, a
    second member's); new_phone(user_agent=…) one that says which browser it is. All close after the test."""
    contexts = []

    def open_phone(**options):
        context = _context(browser, **PHONE, **options)
        contexts.append(context)
        return context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def desktop(browser):
    context = _context(browser, viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def shot(request):
    """shot(page, "name") saves a full-page screenshot for this test (in shot.folder)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    take.folder = folder
    return take


# --- Signing in through the real pages --------------------------------------------------------------


def _latest_code(phone_number: str) -> str:
    """The 6-digit code last texted to `phone_number` (the live server runs in this process)."""
    import re

    from accounts.sms import LocmemSmsBackend

    texts = [m.text for m in LocmemSmsBackend.outbox if m.phone.endswith(phone_number)]
    assert texts, f"no SMS was sent to {phone_number}"
    found = re.search(r"\b(\d{6})\b", texts[-1])
    assert found, f"no 6-digit code in {texts[-1]!r}"
    return found.group(1)


@pytest.fixture
def sign_in_by_phone(shot):
    """sign_in_by_phone(page, "13812345678", step="…"): on the phone-code page (reached from a call to
    act), type the number, read the code from the SMS outbox, type it; back where the member came from."""
    from playwright.sync_api import expect

    def sign_in(page, phone_number: str, *, step: str = "sign-in") -> None:
        expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
        page.get_by_label("手机号").fill(phone_number)
        shot(page, f"{step}-1-phone")
        page.get_by_role("button", name="获取验证码").click()
        expect(page.get_by_role("heading", name="输入验证码")).to_be_visible()
        expect(page.locator(".auth-lead")).to_contain_text(phone_number)
        page.get_by_label("验证码").fill(_latest_code(phone_number))
        shot(page, f"{step}-2-code")
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="输入验证码")).to_have_count(0)

    return sign_in


@pytest.fixture
def sign_in_operator(live_site, shot):
    """sign_in_operator(page, email): the operators' login page, e-mail and password, lands on the dashboard."""
    from playwright.sync_api import expect

    def sign_in(page, email: str, password: str = "op-password-123") -> None:
        page.goto(f"{live_site}/accounts/login/")
        expect(page.get_by_role("heading", name="运营登录")).to_be_visible()
        page.get_by_label("邮箱").fill(email)
        page.get_by_label("密码").fill(password)
        shot(page, "operator-login")
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"{live_site}/dashboard/**")

    return sign_in
