"""The operator pages of the jobs: a group's lurkers and health history, its planned start, the shop's
automation settings and the jobs page. Scoped to the operator's shop (another shop's group is a 404),
read by viewers, written by operators (planned start) or the owner (settings), in constant queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups.jobs import follow_up_lurkers, take_health_snapshots
from groups.models import AutomationSettings, GroupHealthSnapshot, GroupState, Membership
from shequn.jobs import run_job
from shequn.models import JobRun
from shops.models import OperatorRole
from tests.builders.groups import DAY, with_members
from tests.factories import GroupFactory, OperatorFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def make_lurkers(group, n, now):
    members = with_members(group, n)
    Membership.objects.filter(pk__in=[m.pk for m in members]).update(
        last_active_at=now - 20 * DAY, joined_at=now - 40 * DAY
    )
    return members


@pytest.fixture
def stranger(other_shop):
    """The owner of another shop: the highest role there, nothing here."""
    return client_for(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)


# --- Lurkers ------------------------------------------------------------------------------------------


def test_the_lurker_list_shows_silent_members_and_their_follow_ups(group, viewer, now):
    silent = make_lurkers(group, 2, now)
    follow_up_lurkers(now=now)
    active = with_members(group, 1)[0]
    html = client_for(viewer).get(reverse("dashboard:group_lurkers", args=[group.pk])).content.decode()
    for m in silent:
        assert m.user.public_name in html
    assert active.user.public_name not in html
    assert "尚未关怀" not in html  # both got this period's message


def test_the_lurker_list_runs_in_constant_queries(group, operator, now):
    client = client_for(operator)
    url = reverse("dashboard:group_lurkers", args=[group.pk])
    make_lurkers(group, 1, now)
    follow_up_lurkers(now=now)
    one = queries(client, url)
    make_lurkers(group, 6, now)
    follow_up_lurkers(now=now + 40 * DAY)
    assert queries(client, url) == one


# --- Health history and planned start ---------------------------------------------------------------


def test_the_health_page_lists_the_stored_weeks_and_this_week_live(group, viewer, now):
    GroupFactory._meta.model.objects.filter(pk=group.pk).update(created_at=now - 30 * DAY)
    for weeks in (1, 2, 3):
        take_health_snapshots(now=now - (weeks - 1) * 7 * DAY)
    assert GroupHealthSnapshot.objects.filter(group=group).count() == 3
    response = client_for(viewer).get(reverse("dashboard:group_health", args=[group.pk]))
    assert response.status_code == 200
    assert "本周（实时）" in response.content.decode()
    assert len(response.context["history"]) == 3


def test_the_health_page_runs_in_constant_queries(group, operator, now):
    client = client_for(operator)
    url = reverse("dashboard:group_health", args=[group.pk])
    GroupFactory._meta.model.objects.filter(pk=group.pk).update(created_at=now - 100 * DAY)
    take_health_snapshots(now=now)
    one = queries(client, url)
    for weeks in range(1, 8):
        take_health_snapshots(now=now - weeks * 7 * DAY)
    assert queries(client, url) == one


def test_an_operator_sets_a_planned_start_and_the_job_starts_the_group(shop, operator, now):
    group = GroupFactory(shop=shop, state=GroupState.RECRUITING)
    at = timezone.localtime(now + 3 * DAY).replace(second=0, microsecond=0)
    response = client_for(operator).post(
        reverse("dashboard:group_planned_start", args=[group.pk]), {"planned_start_at": at.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.planned_start_at == at


def test_a_bad_planned_start_is_refused_with_a_message(shop, operator):
    group = GroupFactory(shop=shop, state=GroupState.RECRUITING)
    client = client_for(operator)
    response = client.post(
        reverse("dashboard:group_planned_start", args=[group.pk]), {"planned_start_at": "明天早上"}, follow=True
    )
    assert "请填写有效的日期和时间" in response.content.decode()
    active = GroupFactory(shop=shop, state=GroupState.ACTIVE)
    response = client.post(
        reverse("dashboard:group_planned_start", args=[active.pk]),
        {"planned_start_at": "2030-01-01T09:00"},
        follow=True,
    )
    assert "只有筹备中或招募中的群" in response.content.decode()
    group.refresh_from_db()
    active.refresh_from_db()
    assert group.planned_start_at is None and active.planned_start_at is None


def test_a_viewer_cannot_set_a_planned_start(shop, viewer):
    group = GroupFactory(shop=shop, state=GroupState.RECRUITING)
    response = client_for(viewer).post(
        reverse("dashboard:group_planned_start", args=[group.pk]), {"planned_start_at": "2030-01-01T09:00"}
    )
    assert response.status_code == 403
    group.refresh_from_db()
    assert group.planned_start_at is None


# --- Another shop ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["group_lurkers", "group_health", "group_planned_start"])
def test_another_shops_operator_gets_404(group, stranger, operator, name):
    url = reverse(f"dashboard:{name}", args=[group.pk])
    data = {"planned_start_at": "2030-01-01T09:00"}
    response = stranger.post(url, data) if name == "group_planned_start" else stranger.get(url)
    assert response.status_code == 404
    group.refresh_from_db()
    assert group.planned_start_at is None
    # Control: this shop's operator reaches it.
    mine = client_for(operator)
    response = mine.post(url, data) if name == "group_planned_start" else mine.get(url)
    assert response.status_code in (200, 302)


def test_anonymous_visitors_are_sent_to_sign_in(client, group):
    for url in [
        reverse("dashboard:group_lurkers", args=[group.pk]),
        reverse("dashboard:jobs"),
        reverse("dashboard:automation_settings"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


# --- Automation settings (owner) --------------------------------------------------------------------

VALID = {
    "reminder_lead_days": 3,
    "quiet_days": 5,
    "quiet_active_percent": 10,
    "archive_after_days": 21,
    "lurker_days": 10,
    "lurker_follow_up_days": 14,
    "lurker_follow_up_enabled": "on",
    "warnings_before_removal": 2,
}


def test_the_owner_changes_the_automation_settings(shop, owner):
    response = client_for(owner).post(reverse("dashboard:automation_settings"), VALID)
    assert response.status_code == 302
    saved = AutomationSettings.objects.get(shop=shop)
    assert (saved.reminder_lead_days, saved.quiet_days, saved.lurker_days, saved.lurker_follow_up_enabled) == (
        3,
        5,
        10,
        True,
    )


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("quiet_days", "0", "1"),
        ("quiet_active_percent", "150", "100"),
        ("lurker_days", "十四", "请填写整数"),
        ("reminder_lead_days", "", "请填写此项"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(shop, owner, field, value, message):
    response = client_for(owner).post(reverse("dashboard:automation_settings"), {**VALID, field: value})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not AutomationSettings.objects.filter(shop=shop).exists()


def test_operators_and_viewers_cannot_change_the_settings(shop, operator, viewer):
    for user in (operator, viewer):
        assert client_for(user).post(reverse("dashboard:automation_settings"), VALID).status_code == 403
        assert client_for(user).get(reverse("dashboard:automation_settings")).status_code == 403
    assert not AutomationSettings.objects.filter(shop=shop).exists()


def test_the_settings_of_one_shop_do_not_touch_another(shop, other_shop):
    owner_b = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user
    client_for(owner_b).post(reverse("dashboard:automation_settings"), VALID)
    assert AutomationSettings.objects.filter(shop=other_shop).exists()
    assert not AutomationSettings.objects.filter(shop=shop).exists()


# --- Jobs page ------------------------------------------------------------------------------------------


def test_the_jobs_page_lists_each_job_with_its_last_run(shop, other_shop, viewer):
    run_job("group-lifecycle", lambda r: r.count(shop.pk, 4) or r.count(other_shop.pk, 9))

    def failing(result):
        raise RuntimeError("连接 Redis 失败")

    with pytest.raises(RuntimeError):
        run_job("lurker-follow-ups", failing)
    response = client_for(viewer).get(reverse("dashboard:jobs"))
    assert response.status_code == 200
    rows = {job["name"]: job for job in response.context["jobs"]}
    assert rows["group-lifecycle"]["last"].status == "succeeded"
    assert rows["group-lifecycle"]["shop_items"] == 4  # this shop's items, not the other shop's
    assert rows["lurker-follow-ups"]["failed_runs_24h"] == 1
    assert rows["repurchase-reminders"]["last"] is None
    html = response.content.decode()
    assert "社群生命周期" in html and "失败" in html
    assert "连接 Redis 失败" not in html  # error texts are for platform staff


def test_platform_staff_see_the_error_text(shop, owner):
    owner.is_staff = True
    owner.save()
    with pytest.raises(RuntimeError):
        run_job("lurker-follow-ups", lambda r: (_ for _ in ()).throw(RuntimeError("连接 Redis 失败")))
    assert "连接 Redis 失败" in client_for(owner).get(reverse("dashboard:jobs")).content.decode()


def test_the_jobs_page_runs_in_constant_queries(operator):
    client = client_for(operator)
    run_job("group-lifecycle", lambda r: None)
    one = queries(client, reverse("dashboard:jobs"))
    for name in ("group-lifecycle", "lurker-follow-ups", "invite-link-expiry", "repurchase-reminders:batch"):
        for _ in range(3):
            run_job(name, lambda r: r.count())
    JobRun.objects.update(started_at=timezone.now() - timedelta(hours=1))
    assert queries(client, reverse("dashboard:jobs")) == one
