"""The Content-Security-Policy in a real browser: Swagger UI runs from our static files, and page behaviour
moved out of inline handlers (a confirm before revoking a link) still works, with no violation reported."""

import pytest
from playwright.sync_api import expect

from groups.services import LinkOptions, create_link
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, shop_owner

pytestmark = pytest.mark.browser


def record_violations(page) -> list[str]:
    seen = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def test_swagger_ui_renders_under_the_policy(desktop, live_site, shot):
    violations = record_violations(desktop)
    response = desktop.goto(f"{live_site}/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(desktop.locator(".swagger-ui .opblock").first).to_be_visible()
    shot(desktop, "api-docs")
    assert violations == []


def test_revoking_a_link_asks_first(desktop, live_site, shot, sign_in_operator, db):
    shop = ShopFactory()
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    group = GroupFactory(shop=shop)
    link = create_link(shop=shop, by=shop_owner(shop), inviter=operator, group=group, options=LinkOptions())
    violations = record_violations(desktop)
    sign_in_operator(desktop, operator.email)
    desktop.goto(f"{live_site}/dashboard/groups/{group.pk}/")

    desktop.once("dialog", lambda dialog: dialog.dismiss())
    desktop.get_by_role("button", name="撤销").click()
    expect(desktop.get_by_role("button", name="撤销")).to_be_visible()
    link.refresh_from_db()
    assert link.revoked_at is None  # dismissed: nothing sent

    desktop.once("dialog", lambda dialog: dialog.accept())
    desktop.get_by_role("button", name="撤销").click()
    expect(desktop.get_by_text("已撤销").first).to_be_visible()
    shot(desktop, "link-revoked")
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert violations == []
