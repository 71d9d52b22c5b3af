"""新群培育 in a real browser: an operator opens today's steps across the shop's groups from the dashboard's
navigation, sees what the job did (done, by the system) and what is overdue, marks an overdue task done and
skips a step, then reads the group's timeline (1366 px and 390 px screenshots in test-artifacts/)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from groups import services as group_services
from playbooks import services
from playbooks.defaults import install_default_playbook
from playbooks.models import RunStep, RunStepState
from shops.models import OperatorRole
from tests.factories import OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def shop_one_day_in():
    """A group one day into 新群7天培育: the job has done day 0's and today's due automatic steps."""
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR, user__email="lin@xiaoman.test").user
    playbook = install_default_playbook(shop=shop, by=operator, is_default=False)
    group = group_services.create_group(shop=shop, name="新手妈妈 3 群", by=operator, rules="不发广告")
    for _ in range(3):
        group_services.add_member(group=group, user=UserFactory(), by=operator)
    services.assign_playbook(group=group, playbook=playbook, by=operator, day0=timezone.localdate() - timedelta(days=1))
    services.run_due_steps(now=timezone.now())
    return group, operator


def test_an_operator_works_through_todays_steps(desktop, phone, live_site, shot, sign_in_operator, shop_one_day_in):
    group, operator = shop_one_day_in
    task = RunStep.objects.get(run__group=group, day=0, action="task")  # yesterday's: overdue
    page = desktop
    sign_in_operator(page, "lin@xiaoman.test")

    page.get_by_role("link", name="新群培育").click()
    expect(page.get_by_role("heading", name="今日培育步骤")).to_be_visible()
    table = page.get_by_test_id("today-steps")
    expect(table.locator("[data-state=done]").first).to_be_visible()
    overdue = table.locator(f"tr[data-step='{task.pk}']")
    expect(overdue.locator("[data-state=overdue]")).to_have_text("已逾期")
    shot(page, "today-1366")

    overdue.get_by_role("button", name="标记完成").click()
    expect(page.get_by_text("已更新：群主自我介绍，邀请大家报到")).to_be_visible()
    row = page.get_by_test_id("today-steps").locator(f"tr[data-step='{task.pk}']")
    expect(row.locator("[data-state=done]")).to_be_visible()
    expect(row).to_contain_text(operator.public_name)
    assert RunStep.objects.get(pk=task.pk).done_by == operator

    waiting = RunStep.objects.filter(run__group=group, state=RunStepState.PENDING).exclude(pk=task.pk).first()
    page.get_by_test_id(f"skip-{waiting.pk}").click()
    expect(
        page.get_by_test_id("today-steps").locator(f"tr[data-step='{waiting.pk}'] [data-state=skipped]")
    ).to_be_visible()

    page.get_by_role("link", name=group.name).first.click()
    expect(page.get_by_role("heading", name="培育进度")).to_be_visible()
    expect(page.get_by_test_id("timeline").locator("tbody tr")).to_have_count(group.playbook_run.steps.count())
    shot(page, "timeline-1366")

    # the same page at phone size, signed in through the same session cookie
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_site}/dashboard/playbooks/today/")
    expect(phone.get_by_role("heading", name="今日培育步骤")).to_be_visible()
    shot(phone, "today-390")
