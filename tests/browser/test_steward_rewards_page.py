"""群管奖励 in a real browser: a shop owner opens the stewards' page from the referral tabs, sees the group
owner's pending reward for a member's paid order, is told in Chinese that a 80 % commission is too much, then
sets both roles' rules (1366 px and 390 px screenshots in test-artifacts/)."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from groups.models import MemberRole, Membership
from groups.services import set_role
from orders.models import Order, OrderState
from referrals import stewards
from referrals.models import StewardRule
from shops.models import OperatorRole
from tests.builders.orders import make_buyer, order_for
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, SkuFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def shop_with_a_steward_reward():
    shop = ShopFactory(name="小满母婴生活馆")
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER, user__email="boss@xiaoman.test").user
    group = GroupFactory(shop=shop, name="新手妈妈 3 群")
    stewards.save_rule(
        shop=shop,
        by=owner,
        data=stewards.RuleInput(role=MemberRole.OWNER, enabled=True, kind="commission", rate=Decimal("2.00")),
    )
    leader = make_buyer(group)
    set_role(membership=Membership.objects.get(group=group, user=leader), by=owner, role=MemberRole.OWNER)
    order = order_for(make_buyer(group), group, SkuFactory(product__shop=shop))
    Order.objects.filter(pk=order.pk).update(state=OrderState.PAID, paid_at=timezone.now(), paid_amount=order.total)
    order.refresh_from_db()
    stewards.record_order_paid(order)
    return shop, order


def test_an_owner_sets_the_stewards_rules(
    desktop, phone, live_site, shot, sign_in_operator, shop_with_a_steward_reward
):
    shop, order = shop_with_a_steward_reward
    page = desktop
    sign_in_operator(page, "boss@xiaoman.test")
    page.get_by_role("link", name="推荐与奖励").click()
    page.get_by_role("link", name="群管奖励").click()
    expect(page.get_by_role("heading", name="群管奖励", exact=True)).to_be_visible()
    row = page.locator("#steward-rewards-table tbody tr").first
    expect(row).to_contain_text(order.number)
    expect(row).to_contain_text("审核期中")

    form = page.locator("#steward-rules-form")
    form.locator("#id_owner-rate").fill("80")
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_text("佣金比例最多 50.00%。")).to_be_visible()
    shot(page, "stewards-error-1366")

    form = page.locator("#steward-rules-form")
    form.locator("#id_owner-rate").fill("3")
    form.locator("#id_admin-enabled").check()
    form.locator("#id_admin-kind").select_option("points")
    form.locator("#id_admin-rate").fill("10")
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_text("群管奖励规则已保存。")).to_be_visible()
    shot(page, "stewards-1366")
    active = {(r.role, r.kind, r.rate) for r in StewardRule.objects.filter(shop=shop, is_active=True)}
    assert active == {("owner", "commission", Decimal("3.00")), ("admin", "points", Decimal("10.00"))}

    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_site}/dashboard/referrals/stewards/")
    expect(phone.get_by_role("heading", name="群管奖励", exact=True)).to_be_visible()
    shot(phone, "stewards-390")
