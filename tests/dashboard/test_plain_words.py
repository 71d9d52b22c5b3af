"""Issue 18: the dashboard speaks in words, not codes — invite links with their full address and a copy
button (and none for a group still being prepared), an owner picked in place, job intervals in human units,
order sources and payment providers named, notification kinds named, /favicon.ico served."""

from datetime import timedelta

import pytest
from django.urls import reverse

from groups import services
from groups.models import Channel, GroupState, InviteLink, MemberRole, Membership
from shequn.job_views import every_text
from tests.factories import GroupFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db


def test_a_link_shows_its_full_address_with_a_copy_button(operator_client, operator, group):
    link = services.create_link(
        shop=group.shop,
        by=shop_owner(group.shop),
        inviter=operator,
        group=group,
        options=services.LinkOptions(channel=Channel.POSTER),
    )

    html = operator_client.get(reverse("dashboard:group_detail", args=[group.pk])).content.decode()

    assert f'value="{link.public_url}"' in html and f'data-copy="link-url-{link.pk}"' in html


def test_no_link_for_a_group_still_being_prepared(operator_client, shop):
    preparing = GroupFactory(shop=shop, state=GroupState.PREPARING)
    page = operator_client.get(reverse("dashboard:group_detail", args=[preparing.pk])).content.decode()
    assert "还在筹备中" in page and reverse("dashboard:link_create", args=[preparing.pk]) not in page

    response = operator_client.post(
        reverse("dashboard:link_create", args=[preparing.pk]), {"channel": Channel.POSTER}, follow=True
    )

    assert "这个群还在筹备中：先把状态改为「招募中」，再生成邀请链接。" in response.content.decode()
    assert not InviteLink.objects.filter(group=preparing).exists()


def test_a_group_without_an_owner_gets_one_picked_in_place(operator_client, viewer_client, shop):
    group = GroupFactory(shop=shop, owner=None)
    member = UserFactory(display_name="陈姐")
    services.add_member(group=group, user=member, by=None)
    membership = Membership.objects.get(group=group, user=member)
    url = reverse("dashboard:group_owner", args=[group.pk])
    assert url in operator_client.get(reverse("dashboard:group_detail", args=[group.pk])).content.decode()

    assert viewer_client.post(url, {"membership": membership.pk}).status_code == 403
    refused = operator_client.post(url, {"membership": "abc"}, follow=True)
    assert "请从在群成员中选择群主。" in refused.content.decode()
    operator_client.post(url, {"membership": membership.pk})

    group.refresh_from_db()
    membership.refresh_from_db()
    assert group.owner == member and membership.role == MemberRole.OWNER


def test_another_groups_member_cannot_be_made_owner(operator_client, shop):
    group, other = GroupFactory(shop=shop, owner=None), GroupFactory(shop=shop)
    outsider = UserFactory()
    services.add_member(group=other, user=outsider, by=None)

    operator_client.post(
        reverse("dashboard:group_owner", args=[group.pk]),
        {"membership": Membership.objects.get(group=other, user=outsider).pk},
    )

    group.refresh_from_db()
    assert group.owner is None


@pytest.mark.parametrize(
    ("every", "words"),
    [(timedelta(hours=6), "每 6 小时"), (timedelta(minutes=2), "每 2 分钟"), (timedelta(seconds=90), "每 90 秒")],
)
def test_job_intervals_read_in_human_units(every, words):
    assert every_text(every) == words


def test_the_jobs_page_has_no_seconds_counts(operator_client):
    html = operator_client.get(reverse("dashboard:jobs")).content.decode()
    assert "每 6 小时" in html and "21600" not in html


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and "favicon" in response["Location"] and response["Location"].endswith(".svg")
