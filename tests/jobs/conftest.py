"""Fixtures for the periodic jobs: a clock the tests move by passing `now` (groups with members come from
tests/builders/groups.py)."""

import pytest
from django.utils import timezone


@pytest.fixture
def now():
    return timezone.now()
