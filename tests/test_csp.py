"""Every page carries a Content-Security-Policy that runs scripts from our static files only, and the API
pages (Swagger UI, Redoc) load their libraries from those static files too, never from a CDN."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from shequn.csp import POLICY

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_scripts_run_only_from_our_own_files():
    policy = {d.split()[0]: d.split()[1:] for d in POLICY.split("; ")}
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", list(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_an_inline_script_or_handler(path):
    """The policy would block them: behaviour goes into static/js, wired by data attributes."""
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), "move the script to static/js and load it with src="
    assert not INLINE_HANDLER.search(text), "use a data attribute handled in static/js/page.js"


def test_pages_for_everyone_carry_the_policy(operator, member):
    anonymous, op, someone = Client(), Client(), Client()
    op.force_login(operator)
    someone.force_login(member)
    for response in (
        anonymous.get(reverse("home")),
        anonymous.get(reverse("account_login")),
        op.get(reverse("dashboard:groups")),
        someone.get(reverse("member:my_groups")),
        anonymous.get("/admin/login/"),
    ):
        assert response.status_code == 200
        assert directives(response)["script-src"] == ["'self'"]


def test_swagger_ui_comes_from_our_static_files(client):
    page = client.get(reverse("api-docs"))
    html = page.content.decode()
    assert page.status_code == 200 and directives(page)["script-src"] == ["'self'"]
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 3 and not INLINE_SCRIPT.search(html)
    assert all(src.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/") for src in scripts[:2])
    assert "cdn" not in html and "@latest" not in html
    start_up = client.get(scripts[2])  # the split view's start-up script, served by the view itself
    assert start_up.status_code == 200 and start_up["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in start_up.content.decode()


def test_the_sign_in_api_spec_page_loads_redoc_from_our_static_files(client):
    page = client.get("/_allauth/openapi.html")
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<script src="/static/drf_spectacular_sidecar/redoc/bundles/redoc\.standalone[^"]*\.js"', html)
    assert "cdn" not in html and not INLINE_SCRIPT.search(html)
