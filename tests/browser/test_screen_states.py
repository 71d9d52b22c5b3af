"""Issue 18: every screen has an empty state with a next action, an error state and a loading state, at
390 px and 1366 px (screenshots in test-artifacts/):
- a new member's lists (groups, 活动, orders, inbox, leaderboard) and an empty group shop say so and offer
  what to do next;
- a submitted form's buttons are disabled and say 处理中… while the request is on its way;
- a failed submit shows the message and keeps what was typed;
- the dashboard's fetches (live validation, live figures) show a spinner while asking and say when the
  answer did not come."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from campaigns.models import TeamSeat
from groups.services import add_member
from tests.builders.campaigns import make_two_person_group_buy
from tests.builders.shops import open_shop, rice_cereal
from tests.factories import UserFactory

pytestmark = pytest.mark.browser
SCREENS = ["phone", "desktop"]


def _shop():
    return open_shop(email="owner@xiaoman.test")


def _group_buy(shop, owner):
    return make_two_person_group_buy(shop, rice_cereal(shop), owner=owner)


def _expect_empty_with_next_action(page, what: str) -> None:
    empty = page.locator(".empty").first
    expect(empty).to_be_visible()
    actions = empty.locator("a, button, .empty-next")
    assert actions.count() >= 1, f"{what}: the empty state offers nothing to do next"


@pytest.mark.parametrize("screen", SCREENS)
def test_a_new_members_pages_are_empty_states_with_a_next_action(request, screen, live_site, shot, sign_in_by_phone):
    page = request.getfixturevalue(screen)
    shop, owner, group = _shop()
    page.goto(live_site + reverse("member:my_groups"))
    sign_in_by_phone(page, "13900001234", step=f"{screen}-sign-in")
    for name, path in {
        "groups": reverse("member:my_groups"),
        "campaigns": reverse("campaigns:my_teams"),
        "orders": reverse("orders:my_orders"),
        "inbox": reverse("notifications:inbox"),
        "leaderboard": reverse("boards:my_rank"),
    }.items():
        page.goto(live_site + path)
        _expect_empty_with_next_action(page, name)
        shot(page, f"{screen}-empty-{name}")

    # In a group whose shop sells nothing yet: the group page and its shop.
    add_member(group=group, user=User.objects.get(phone="+8613900001234"), by=owner)
    page.goto(live_site + reverse("member:group", args=[group.pk]))
    expect(page.get_by_test_id("group-offers")).to_have_count(0)
    shot(page, f"{screen}-group-no-offers")
    page.goto(live_site + reverse("orders:group_shop", args=[group.pk]))
    _expect_empty_with_next_action(page, "group shop")
    shot(page, f"{screen}-empty-group-shop")


@pytest.mark.parametrize("screen", SCREENS)
def test_a_submit_shows_it_is_working_and_a_failed_one_keeps_the_input(
    request, screen, live_site, shot, sign_in_by_phone
):
    page = request.getfixturevalue(screen)
    shop, owner, group = _shop()
    add_member(group=group, user=UserFactory(phone="+8613700005678", display_name="李婷"), by=owner)
    campaign = _group_buy(shop, owner)
    checkout = live_site + reverse("campaigns:open_team", args=[campaign.pk])
    page.goto(checkout)
    sign_in_by_phone(page, "13700005678", step=f"{screen}-sign-in")
    expect(page.get_by_role("heading", name="确认开团")).to_be_visible()

    # Failed submit: no address. The message is shown and the typed name stays.
    page.get_by_label("联系人").fill("李婷婷")
    page.get_by_label("收货地址").fill("")
    page.get_by_test_id("submit-team-order").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    expect(page.get_by_label("联系人")).to_have_value("李婷婷")
    shot(page, f"{screen}-failed-submit-keeps-input")

    # Loading: the order is sent to a hidden frame, so this page stays to be read while it is on its way;
    # the button says 处理中… and takes no second tap.
    page.evaluate(
        """() => {
          const frame = document.createElement("iframe");
          frame.name = "on-its-way";
          frame.hidden = true;
          document.body.appendChild(frame);
          document.getElementById("team-checkout").target = "on-its-way";
        }"""
    )
    page.get_by_label("收货地址").fill("上海市徐汇区漕溪北路 88 号 2 号楼 502")
    button = page.get_by_test_id("submit-team-order")
    button.click()
    expect(button).to_have_text("处理中…")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-busy", "true")
    shot(page, f"{screen}-submitting")
    for _ in range(60):  # the order itself arrives: one seat, however the button was tapped
        if TeamSeat.objects.filter(team__campaign=campaign).exists():
            break
        page.wait_for_timeout(250)
    assert TeamSeat.objects.filter(team__campaign=campaign).count() == 1


@pytest.mark.parametrize("screen", SCREENS)
def test_the_dashboards_fetches_show_a_spinner_and_say_when_they_failed(
    request, screen, live_site, shot, sign_in_operator
):
    page = request.getfixturevalue(screen)
    shop, owner, group = _shop()
    campaign = _group_buy(shop, owner)
    sign_in_operator(page, "owner@xiaoman.test", password="op-password-123")

    # Live validation of the campaign form: held → spinner; refused by the network → a message.
    page.goto(live_site + reverse("dashboard:campaign_create") + "?type=group_buy")
    status = page.locator("#validate-status")
    held = []
    page.route("**/campaigns/validate/**", lambda route: held.append(route))
    page.get_by_label("活动名称").fill("周末三人团")
    expect(status.locator(".spinner")).to_be_visible()
    expect(status).to_contain_text("正在检查…")
    shot(page, f"{screen}-validating")
    held[0].abort()
    expect(status).to_contain_text("暂时无法检查，保存时会再检查一次。")
    expect(page.get_by_label("活动名称")).to_have_value("周末三人团")
    shot(page, f"{screen}-validation-failed")
    page.unroute("**/campaigns/validate/**")
    page.get_by_label("活动名称").fill("周末三人团 2")
    expect(status).to_have_text("")

    # Live figures on the campaign page, refreshed every 15 s: a failed refresh says so, figures kept.
    page.clock.install()
    page.goto(live_site + reverse("dashboard:campaign_detail", args=[campaign.pk]))
    page.route("**/figures/**", lambda route: route.abort())
    page.clock.fast_forward(16_000)
    expect(page.locator("#figures-status")).to_contain_text("刷新失败")
    expect(page.locator("#figures-box")).not_to_be_empty()
    shot(page, f"{screen}-figures-failed")
