"""Shared fixtures. The suite runs on PostgreSQL and Redis only (scripts/test provides them)."""

import pytest
from django.conf import settings

from accounts.sms import LocmemSmsBackend
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory


def pytest_configure(config):
    if not settings.REDIS_URL:
        raise pytest.UsageError("The test suite needs Redis: run it with scripts/test (or set REDIS_URL).")
    # The suite runs with DEBUG off; shops without a merchant account pay on the simulated provider, as in
    # development (tests of the production default and of orders.E001 set these back).
    settings.DEFAULT_PAYMENT_PROVIDER = "simulated"
    settings.ALLOW_SIMULATED_PAYMENTS = True


def pytest_collection_modifyitems(config, items):
    """Every test that drives a browser must say so (`browser`: scripts/test --fast leaves it out), or the
    run stops here. Tests that commit real transactions are `slow` by rule: their teardown flushes every
    table (3–6 s each), and races and workers wait on each other besides."""
    unmarked = [item.nodeid for item in items if _drives_a_browser(item) and not item.get_closest_marker("browser")]
    if unmarked:
        raise pytest.UsageError(
            "Playwright tests must be marked @pytest.mark.browser (or pytestmark = pytest.mark.browser): "
            + ", ".join(unmarked)
        )
    for item in items:
        if _commits_transactions(item):
            item.add_marker(pytest.mark.slow)


def _drives_a_browser(item) -> bool:
    """It asks for the Playwright browser or a page (tests/browser/conftest.py), or its module uses
    Playwright directly."""
    if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    used = vars(module).values() if module is not None else ()
    return any(
        str(getattr(value, "__module__", None) or getattr(value, "__name__", "")).startswith("playwright")
        for value in used
    )


def _commits_transactions(item) -> bool:
    db = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(
        (db and db.kwargs.get("transaction"))
        or {"transactional_db", "live_server", "django_db_serialized_rollback"} & fixtures
        or item.get_closest_marker("race")
        or item.get_closest_marker("celery")
    )


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.SMS_BACKEND = "accounts.sms.LocmemSmsBackend"
    # Operators are made with passwords; the production hasher would cost most of each test's set-up.
    # (Hashes made outside a test, e.g. by a module-scoped seed, still verify with the real hasher.)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    if not (settings.STATIC_ROOT / "staticfiles.json").exists():
        # scripts/test runs collectstatic, so the whole suite uses the manifest storage of production;
        # a partial run without it (a developer's pytest) falls back to plain storage.
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "http://testserver"
    LocmemSmsBackend.outbox.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """A request through LocaleMiddleware leaves its language active in the thread; start each test
    in the default language (Chinese)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits live in the Redis cache; each test starts with it empty."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def shop(db):
    return ShopFactory()


@pytest.fixture
def other_shop(db):
    return ShopFactory()


@pytest.fixture
def owner(shop):
    return OperatorFactory(shop=shop, role=OperatorRole.OWNER).user


@pytest.fixture
def operator(shop):
    return OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user


@pytest.fixture
def viewer(shop):
    return OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user


@pytest.fixture
def member(db):
    return UserFactory()


@pytest.fixture
def group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
