"""Schemathesis fuzzes the OpenAPI schema (/api/schema/) as an anonymous caller, a member and an operator:
no answer may be a 5xx, and every answer must match the schema (a documented status code, the body's
shape).

It runs in-process against the WSGI application inside the test's transaction, over a small shop, with
a fixed seed so a failure reproduces. To keep the suite fast each caller fuzzes the operations meant for
them: members the member operations (/me/, /links/) and operators the shop's (/shop/), both through every
boundary and invalid case the schema defines (schemathesis' coverage phase) plus a few random examples;
an anonymous caller is refused everywhere, so a few random examples per operation are enough. Who may
call what is the permission matrix's business (tests/test_permission_matrix.py)."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.builders.orders import make_buyer, order_for
from tests.factories import GroupFactory, OperatorFactory, SkuFactory

CHECKS = (not_a_server_error, response_schema_conformance, status_code_conformance)
# A fixed seed, no example database: the same cases every run (a red CI run reproduces locally).
FUZZING = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
# (operations, random examples per operation, whether the coverage phase's boundary cases run)
CALLERS = {
    "anonymous": (None, 2, False),
    "member": (r"^/api/v1/(me|links)/", 5, True),
    "operator": (r"^/api/v1/shop/", 5, True),
}


@pytest.fixture
def wsgi_app(db):
    # As Django's test client does: a request must not close the connection holding the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _session_token(user) -> str:
    """An allauth headless session token (X-Session-Token) for the user, without the SMS flow."""
    client = Client()
    client.force_login(user)
    return client.session.session_key


@pytest.fixture
def headers_of(shop):
    """Each caller's headers, over a shop with a group, a member who ordered, and an operator."""
    group = GroupFactory(shop=shop)
    sku = SkuFactory(product__shop=shop)
    member = make_buyer(group)
    order_for(member, group, sku)
    operator = OperatorFactory(shop=shop).user
    return {
        "anonymous": {},
        "member": {"X-Session-Token": _session_token(member)},
        "operator": {"X-Session-Token": _session_token(operator)},
    }


@pytest.mark.slow  # hundreds of generated requests per caller: 30 s to minutes
@pytest.mark.parametrize("caller", CALLERS)
def test_fuzzed_requests_get_no_server_error_and_answers_within_the_schema(wsgi_app, headers_of, caller):
    path_regex, examples, coverage = CALLERS[caller]
    config = SchemathesisConfig.from_dict(
        # Unexpected methods only meet Django's own 405; leaving them out halves the run.
        {"seed": 1, "phases": {"coverage": {"enabled": coverage, "unexpected-methods": []}}}
    )
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, config=config)
    if path_regex:
        schema = schema.include(path_regex=path_regex)
    headers = headers_of[caller]

    def call_and_check(case):
        case.validate_response(case.call(headers=headers), checks=CHECKS)

    tests = get_all_tests(
        schema=schema, test_func=call_and_check, settings=settings(max_examples=examples, **FUZZING), given_kwargs={}
    )
    failures, operations = [], 0
    for result in tests:
        operation, test = result.ok()
        operations += 1
        try:
            test()
        except (Exception, FailureGroup) as failure:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}:\n{failure}")

    assert operations > 30
    assert not failures, "\n\n".join(failures)
