"""The admin path of 助力: a help added by hand goes through the service, so a self-help or a duplicate is
refused with the page's Chinese message; tasks are read-only records."""

import pytest
from django.urls import reverse

from campaigns.models import Help, HelpTask
from campaigns.types.help import kind as helping
from tests.campaigns.social_support import friends, help_campaign, starter_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(shop):
    return helping.start_task(campaign=help_campaign(shop), member=starter_in(shop)[0])


def test_a_help_added_in_the_admin_counts_like_a_tap(admin_client, task):
    friend = friends(1)[0]
    response = admin_client.post(reverse("admin:campaigns_help_add"), {"task": task.pk, "helper": friend.pk})
    assert response.status_code == 302
    help_row = Help.objects.get()
    task.refresh_from_db()
    assert (help_row.number, help_row.helper, task.help_count) == (1, friend, 1)


def test_the_admin_refuses_a_self_help_and_a_duplicate_in_words(admin_client, task):
    url = reverse("admin:campaigns_help_add")
    response = admin_client.post(url, {"task": task.pk, "helper": task.starter.pk})
    assert response.status_code == 200 and "不能给自己助力，请把链接分享给好友。" in response.content.decode()
    friend = friends(1)[0]
    helping.give_help(task=task, helper=friend)
    response = admin_client.post(url, {"task": task.pk, "helper": friend.pk})
    assert "你已经为 TA 助力过了，每人只能助力一次。" in response.content.decode()
    assert Help.objects.count() == 1


def test_tasks_are_read_only_in_the_admin(admin_client, task):
    assert admin_client.get(reverse("admin:campaigns_helptask_add")).status_code == 403
    assert admin_client.get(reverse("admin:campaigns_helptask_change", args=[task.pk])).status_code == 200
    admin_client.post(reverse("admin:campaigns_helptask_change", args=[task.pk]), {"help_count": 3})
    assert HelpTask.objects.get().help_count == 0
