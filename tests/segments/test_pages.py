"""The operators' segment, tag and broadcast pages and API: what each role may do, another shop's objects not
found, the preview on the page equal to what the send queues, constant queries on the lists."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from groups.models import GroupState, InviteLink
from notifications.models import Notification
from segments import services
from segments.models import Broadcast, BroadcastState, GroupInvitation, Segment, TagRule
from shops.models import AuditEntry, OperatorRole
from tests.builders.notifications import noon
from tests.factories import GroupFactory, OperatorFactory
from tests.segments.support import capped, joined, no_quiet_hours, opted_out, paid

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_owner(other_shop):
    return OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user


@pytest.fixture
def members(shop, group):
    people = [joined(group) for _ in range(4)]
    paid(people[0], group, "300.00")
    opted_out(people[1], shop)
    return people


def test_compose_preview_and_send_on_the_pages(shop, owner, group, members):
    client = signed_in(owner)
    capped(members[2], shop, noon().replace(year=2000))  # long ago: no effect on the cap now
    response = client.post(
        reverse("dashboard:broadcast_create"), {"group": group.pk, "title": "周末特价", "body": "小米八折。"}
    )
    broadcast = Broadcast.objects.get(shop=shop)
    assert response.status_code == 302 and response["Location"] == reverse(
        "dashboard:broadcast_detail", args=[broadcast.pk]
    )
    page = client.get(response["Location"])
    preview = page.context["preview"]
    assert preview["opted_out"] == 1 and preview["audience"] == 4
    assert f'data-count="send"><strong>{preview["send"]}</strong>' in page.content.decode()
    client.post(reverse("dashboard:broadcast_send", args=[broadcast.pk]))
    broadcast.refresh_from_db()
    # Quiet hours depend on the clock here (the shop's default 21:00–09:00): whatever the hour, the send queued
    # exactly what the preview counted a moment before.
    assert broadcast.state == BroadcastState.SENT
    assert Notification.objects.filter(kind="broadcast").count() == broadcast.sent_count == preview["send"]
    assert broadcast.quiet_hours_count == preview["quiet_hours"]
    assert AuditEntry.objects.filter(action="segments.broadcast.send", actor=owner).exists()
    resent = client.post(reverse("dashboard:broadcast_send", args=[broadcast.pk]), follow=True)
    assert "已经发送过" in resent.content.decode()


def test_a_viewer_reads_but_cannot_send(shop, owner, viewer, group, members):
    broadcast = services.create_broadcast(shop=shop, by=owner, title="t", body="b", group=group)
    client = signed_in(viewer)
    assert client.get(reverse("dashboard:broadcast_detail", args=[broadcast.pk])).status_code == 200
    assert client.post(reverse("dashboard:broadcast_send", args=[broadcast.pk])).status_code == 403
    assert client.get(reverse("dashboard:segment_create")).status_code == 403
    api = APIClient()
    api.force_authenticate(viewer)
    assert api.post(reverse("api-shop-broadcast-send", args=[broadcast.pk])).status_code == 403
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.DRAFT and not Notification.objects.filter(kind="broadcast").exists()


def test_another_shops_objects_are_not_found(shop, owner, other_owner, group, members):
    broadcast = services.create_broadcast(shop=shop, by=owner, title="t", body="b", group=group)
    segment = services.save_segment(shop=shop, by=owner, name="买过")
    rule = services.create_tag_rule(shop=shop, by=owner, tag_name="复购", kind="repeat_buyer")
    client = signed_in(other_owner)
    for name, pk in [
        ("dashboard:broadcast_detail", broadcast.pk),
        ("dashboard:segment_detail", segment.pk),
        ("dashboard:segment_edit", segment.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    for name, pk in [
        ("dashboard:broadcast_send", broadcast.pk),
        ("dashboard:segment_invite", segment.pk),
        ("dashboard:tag_rule_update", rule.pk),
    ]:
        assert client.post(reverse(name, args=[pk])).status_code == 404, name
    api = APIClient()
    api.force_authenticate(other_owner)
    assert api.post(reverse("api-shop-broadcast-send", args=[broadcast.pk])).status_code == 404
    assert api.get(reverse("api-shop-segment-members", args=[segment.pk])).status_code == 404
    # Nor can their own broadcast name this shop's group or segment.
    answer = api.post(reverse("api-shop-broadcasts"), {"segment": segment.pk, "title": "t", "body": "b"}, format="json")
    assert answer.status_code == 400
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.DRAFT


def test_segment_pages_and_invite_into_a_group(shop, owner, group, members):
    no_quiet_hours(shop)
    client = signed_in(owner)
    response = client.post(reverse("dashboard:segment_create"), {"name": "大客户", "min_spent": "100"})
    segment = Segment.objects.get(shop=shop)
    assert response.status_code == 302 and segment.min_spent == Decimal("100")
    page = client.get(reverse("dashboard:segment_detail", args=[segment.pk]))
    assert [m.pk for m in page.context["page"]] == [members[0].pk]
    vip = GroupFactory(shop=shop, name="大客户专享群", state=GroupState.RECRUITING)
    for _ in range(2):  # a second invite finds everyone invited already
        client.post(reverse("dashboard:segment_invite", args=[segment.pk]), {"group": vip.pk})
    invitation = GroupInvitation.objects.get(group=vip)
    assert invitation.user == members[0]
    message = Notification.objects.get(pk=invitation.notification_id)
    link = InviteLink.objects.get(pk=invitation.link_id)
    assert message.url == reverse("member:landing", args=[link.code]) and link.group == vip
    assert Notification.objects.filter(kind="group_invitation").count() == 1


def test_tag_rule_pages(shop, owner, members):
    client = signed_in(owner)
    response = client.post(reverse("dashboard:tag_rule_create"), {"tag_name": "复购客", "kind": "repeat_buyer"})
    assert response.status_code == 302
    rule = TagRule.objects.get(shop=shop)
    assert rule.count == 2 and rule.is_active
    refused = client.post(reverse("dashboard:tag_rule_create"), {"tag_name": "大额", "kind": "spent_over"})
    assert refused.status_code == 400 and "此规则需要填写这一项" in refused.content.decode()
    client.post(reverse("dashboard:tag_rule_update", args=[rule.pk]), {})
    rule.refresh_from_db()
    assert not rule.is_active


def test_lists_cost_constant_queries(shop, owner, group, members, django_assert_max_num_queries):
    client = signed_in(owner)
    for i in range(3):
        segment = services.save_segment(shop=shop, by=owner, name=f"s{i}", min_orders=0)
        services.create_broadcast(shop=shop, by=owner, title=f"b{i}", body="b", segment=segment)

    def count(name, *args):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name, args=args)).status_code == 200
        return len(queries)

    few = {name: count(name) for name in ("dashboard:segments", "dashboard:broadcasts")}
    few_members = count("dashboard:segment_detail", segment.pk)
    for i in range(3, 8):
        extra = services.save_segment(shop=shop, by=owner, name=f"s{i}", min_orders=0)
        services.create_broadcast(shop=shop, by=owner, title=f"b{i}", body="b", segment=extra)
        joined(group)
    assert {name: count(name) for name in few} == few
    assert count("dashboard:segment_detail", segment.pk) == few_members


def test_the_api_saves_a_segment_and_sends_a_broadcast(shop, operator, group, members):
    api = APIClient()
    api.force_authenticate(operator)
    created = api.post(reverse("api-shop-segments"), {"name": "买过的", "min_orders": 1}, format="json")
    assert created.status_code == 201 and created.json()["member_count"] == 1
    segment_id = created.json()["id"]
    listed = api.get(reverse("api-shop-segment-members", args=[segment_id])).json()
    assert [m["id"] for m in listed["results"]] == [members[0].pk] and listed["results"][0]["spent"] == "300.00"
    draft = api.post(
        reverse("api-shop-broadcasts"), {"group": group.pk, "title": "新品", "body": "到了"}, format="json"
    )
    assert draft.status_code == 201
    preview = draft.json()["preview"]
    sent = api.post(reverse("api-shop-broadcast-send", args=[draft.json()["id"]]))
    assert sent.status_code == 200 and sent.json()["state"] == "sent"
    assert sent.json()["result"]["send"] == preview["send"] == Notification.objects.filter(kind="broadcast").count()
    again = api.post(reverse("api-shop-broadcast-send", args=[draft.json()["id"]]))
    assert again.status_code == 400


def test_the_api_invites_a_segment_once_and_lists_tag_rules(shop, owner, operator, group, members, other_shop):
    no_quiet_hours(shop)
    services.create_tag_rule(shop=shop, by=owner, tag_name="复购", kind="repeat_buyer")
    segment = services.save_segment(shop=shop, by=owner, name="买过的", min_orders=1)
    vip = GroupFactory(shop=shop, name="大客户专享群", state=GroupState.RECRUITING)
    api = APIClient()
    api.force_authenticate(operator)
    url = reverse("api-shop-segment-invite", args=[segment.pk])
    first = api.post(url, {"group": vip.pk}, format="json")
    assert first.status_code == 200 and first.json()["send"] == 1 and first.json()["already"] == 0
    again = api.post(url, {"group": vip.pk}, format="json").json()
    assert again["send"] == 0 and again["already"] == 1
    assert api.post(url, {"group": GroupFactory(shop=other_shop).pk}, format="json").status_code == 400
    rules = api.get(reverse("api-shop-tag-rules")).json()["results"]
    assert [(r["tag"]["name"], r["kind"], r["count"]) for r in rules] == [("复购", "repeat_buyer", 2)]
