"""Boundary values against every form field, API serializer field and URL pattern of the project.

The forms, serializers and URL patterns are enumerated (every project module is imported, then the
subclasses of Django's BaseForm and DRF's Serializer are walked), so a new one is covered without
editing this file. Each numeric input must carry a range (its own bounds or its model field's), and
0, −1, 2^31, 2^63, 1e30, NUL, an emoji and a 10 kB string must each be a field error or a value the
database can store — never an exception that becomes a 500.
"""

import importlib
import pkgutil
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

BOUNDARY = ["0", "-1", str(2**31), str(2**63), "1e30", "\x00", "😀", "x" * 10240]
pytestmark = pytest.mark.django_db
PG_BIGINT = (-(2**63), 2**63 - 1)
# The project's own apps are the top-level packages of the checkout (a virtualenv inside it is not).
PROJECT_APPS = [a for a in apps.get_app_configs() if Path(a.path).parent == settings.BASE_DIR]


def _import_project_modules() -> None:
    for app in PROJECT_APPS:
        module = importlib.import_module(app.name)
        for info in pkgutil.walk_packages(module.__path__, prefix=app.name + "."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            importlib.import_module(info.name)


def _subclasses(base) -> list[type]:
    _import_project_modules()
    found, stack = set(), [base]
    while stack:
        for cls in stack.pop().__subclasses__():
            if cls not in found:
                found.add(cls)
                stack.append(cls)
    names = {a.name for a in PROJECT_APPS}
    return sorted((c for c in found if c.__module__.split(".")[0] in names), key=lambda c: c.__qualname__)


FORMS = _subclasses(forms.BaseForm)


def _input_serializers() -> list[type]:
    """Every serializer an API operation reads: request bodies and query-parameter serializers, found
    through the OpenAPI generator's own walk of the URL patterns."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    found = {}
    for _path, _regex, method, view in generator._get_paths_and_endpoints():
        candidates = list(view.schema.get_override_parameters())
        if method in ("POST", "PUT", "PATCH"):
            candidates.append(view.schema.get_request_serializer())
        for candidate in candidates:
            cls = candidate if isinstance(candidate, type) else type(candidate)
            if issubclass(cls, serializers.Serializer):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


SERIALIZERS = _input_serializers()


def _model_field(form_class, name):
    model = getattr(getattr(form_class, "_meta", None), "model", None)
    try:
        return model._meta.get_field(name) if model else None
    except Exception:
        return None


def _rejected(clean, validators, value) -> bool:
    try:
        cleaned = clean(value)
        for validate in validators:
            validate(cleaned)
    except (ValidationError, serializers.ValidationError):
        return True
    return False


def _storable(cleaned) -> bool:
    if isinstance(cleaned, bool) or cleaned is None:
        return True
    if isinstance(cleaned, int):  # ids are bigints; smaller columns are guarded by each field's own maximum
        return PG_BIGINT[0] <= cleaned <= PG_BIGINT[1]
    if isinstance(cleaned, (Decimal, float)):
        try:
            return abs(Decimal(cleaned)) < Decimal(10) ** 10
        except InvalidOperation:
            return False
    if isinstance(cleaned, str):
        return "\x00" not in cleaned
    return True


def _problems(name, clean, validators, field, bounded) -> list[str]:
    problems = []
    numeric = isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)) or isinstance(
        field, (serializers.IntegerField, serializers.DecimalField, serializers.FloatField)
    )
    if numeric and not bounded:
        problems.append(f"{name}: numeric without a maximum")
    for value in BOUNDARY:
        try:
            cleaned = clean(value)
            for validate in validators:
                validate(cleaned)
        except (ValidationError, serializers.ValidationError):
            continue
        except Exception as exc:  # noqa: BLE001 - exactly what this sweep looks for
            problems.append(f"{name}: {value[:12]!r} raised {type(exc).__name__}")
            continue
        if not _storable(cleaned):
            problems.append(f"{name}: {value[:12]!r} accepted as {str(cleaned)[:20]!r}")
    return problems


@pytest.mark.parametrize("form_class", FORMS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_form_field_refuses_out_of_range_input(form_class):
    problems = []
    for name, field in getattr(form_class, "base_fields", {}).items():
        if isinstance(field, forms.ModelChoiceField) and field.queryset is None:
            continue  # the form sets its queryset per request (scoped to a shop); checked where it is used
        model_field = _model_field(form_class, name)
        validators = list(model_field.validators) if model_field is not None else []
        bounded = getattr(field, "max_value", None) is not None or getattr(field, "max_digits", None) is not None
        bounded = bounded or any(getattr(v, "code", "") == "max_value" for v in validators)
        problems += _problems(name, field.clean, validators, field, bounded)
    assert not problems, problems


def _input_fields(serializer, prefix=""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ListSerializer):
            yield from _input_fields(field.child, f"{prefix}{name}[].")
        elif isinstance(field, serializers.Serializer):
            yield from _input_fields(field, f"{prefix}{name}.")
        elif isinstance(field, serializers.ListField):
            yield f"{prefix}{name}[]", field.child
        else:
            yield prefix + name, field


@pytest.mark.parametrize("serializer_class", SERIALIZERS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_api_input_refuses_out_of_range_input(serializer_class):
    problems = []
    for name, field in _input_fields(serializer_class(context={})):
        bounded = getattr(field, "max_value", None) is not None or getattr(field, "max_digits", None) is not None
        problems += _problems(name, field.run_validation, [], field, bounded)
    assert not problems, problems


def test_the_sweep_finds_the_inputs_it_is_meant_to():
    """A control: the enumeration reaches the forms and request bodies named in issue 20."""
    names = {c.__name__ for c in FORMS} | {c.__name__ for c in SERIALIZERS}
    assert {"ShopSettingsForm", "LinkForm", "LinkCreateSerializer", "WithdrawalCreateSerializer"} <= names
    assert {"PlaceOrderSerializer", "GroupFilterSerializer"} <= names


def _patterns(resolvers, prefix=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _with_values(route: str, value: str) -> str | None:
    import re

    if route.startswith("^") or "(?P" in route:
        return None
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", value, route)


PATH_VALUES = [str(2**63), str(10**30), "%00%00%00", "%F0%9F%98%80", "x" * 300]
ROUTES = sorted({r for r in _patterns(get_resolver().url_patterns) if _with_values(r, "1")})


# Every name a form reads, plus the few that views read from request.POST themselves, with values that are
# digits to str.isdigit() but not to int() ("²"), or past any integer column.
FIELD_NAMES = sorted(
    {name for form in FORMS for name in getattr(form, "base_fields", {})} | {"account", "campaign", "team"}
)


@pytest.mark.parametrize("route", ROUTES)
def test_every_url_pattern_answers_boundary_values_without_a_500(route, client, django_user_model, shop):
    from tests.factories import OperatorFactory

    client.force_login(OperatorFactory(shop=shop).user)
    for value in PATH_VALUES if "<" in route else []:
        url = _with_values(route, value)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code < 500, (method, url[:80], response.status_code)
    url = _with_values(route, "1")
    for odd in ("²", str(10**30)):
        for method in ("get", "post"):
            response = getattr(client, method)(url, {name: odd for name in FIELD_NAMES})
            healthy_refusal = url == "/healthz" and response.status_code == 503  # no worker runs in tests
            assert response.status_code < 500 or healthy_refusal, (method, url[:80], odd, response.status_code)
