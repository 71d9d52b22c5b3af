"""The collection rules of tests/conftest.py: a test that drives Playwright without the browser mark stops
the run (scripts/test --fast must never start chromium), and a test that commits real transactions is
marked slow."""

import types

import pytest

from tests import conftest


class Item:
    """What the rules read of a collected test."""

    def __init__(self, fixtures=(), marks=(), module=None, db_transaction=False):
        self.nodeid = "tests/test_x.py::test_x"
        self.fixturenames = list(fixtures)
        self.module = module
        self.marks = {name: getattr(pytest.mark, name).mark for name in marks}
        if db_transaction:
            self.marks["django_db"] = pytest.mark.django_db(transaction=True).mark
        self.added = []

    def get_closest_marker(self, name):
        return self.marks.get(name)

    def add_marker(self, mark):
        self.added.append(mark.name)


def test_an_unmarked_test_asking_for_the_browser_stops_the_run():
    with pytest.raises(pytest.UsageError, match="test_x"):
        conftest.pytest_collection_modifyitems(None, [Item(fixtures=["live_site", "browser"])])


def test_an_unmarked_test_importing_playwright_stops_the_run():
    from playwright.sync_api import expect

    module = types.ModuleType("tests.browser.test_x")
    module.expect = expect
    with pytest.raises(pytest.UsageError):
        conftest.pytest_collection_modifyitems(None, [Item(module=module)])


def test_a_marked_browser_test_passes():
    conftest.pytest_collection_modifyitems(None, [Item(fixtures=["browser"], marks=["browser"])])


@pytest.mark.parametrize(
    "item",
    [
        Item(marks=["race"]),
        Item(marks=["celery"]),
        Item(fixtures=["live_server"]),
        Item(fixtures=["transactional_db"]),
        Item(db_transaction=True),
    ],
    ids=["race", "celery", "live_server", "transactional_db", "django_db(transaction=True)"],
)
def test_tests_that_commit_transactions_are_slow(item):
    conftest.pytest_collection_modifyitems(None, [item])
    assert item.added == ["slow"]


def test_a_plain_test_is_left_alone():
    item = Item(fixtures=["db", "client"])
    conftest.pytest_collection_modifyitems(None, [item])
    assert item.added == []
