"""The complaints and suggestions box (投诉与建议): members send from their group, operators route, answer and
close along the state table, every operator write audited, the member told once and shown the answer; a
member sees only their own items, another shop's staff none; lists cost a constant number of queries."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from groups import feedback
from groups.feedback_models import Feedback, FeedbackDepartment, FeedbackState
from groups.models import MemberRole
from notifications.models import Notification
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory, ShopFactory
from tests.groups.space_support import not_an_image, photo

pytestmark = pytest.mark.django_db


def browser_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def department(shop, owner):
    return feedback.create_department(shop_id=shop.pk, by=owner, name="售后部")


@pytest.fixture
def item(people):
    return feedback.submit(
        group=people["group"], member=people[MemberRole.MEMBER], kind="complaint", body="收到的苹果有压伤。"
    )


# --- Sending -------------------------------------------------------------------------------------------


def test_a_member_sends_a_complaint_with_a_photo_from_their_group(people, settings):
    member = people[MemberRole.MEMBER]
    sent = feedback.submit(
        group=people["group"], member=member, kind="complaint", body="  配送太慢  ", photo=photo((300, 200))
    )
    sent.refresh_from_db()
    assert (sent.shop_id, sent.group_id, sent.state, sent.body) == (
        people["group"].shop_id,
        people["group"].pk,
        FeedbackState.NEW,
        "配送太慢",
    )
    assert sent.photo.name.startswith("feedback/") and sent.photo.path.startswith(str(settings.MEDIA_ROOT / "private"))


@pytest.mark.parametrize(
    ("kind", "body", "extra", "field"),
    [
        ("praise", "好", {}, "kind"),
        ("suggestion", "   ", {}, "body"),
        ("suggestion", "长" * 1001, {}, "body"),
        ("suggestion", "看图", {"photo": not_an_image()}, "photo"),
    ],
)
def test_bad_input_is_refused_in_chinese_naming_the_field(people, kind, body, extra, field):
    with pytest.raises(ValidationError) as error:
        feedback.submit(group=people["group"], member=people[MemberRole.MEMBER], kind=kind, body=body, **extra)
    assert field in error.value.message_dict
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("who", ["pending", "other_group_member", "other_shop_member", "stranger"])
def test_only_an_active_member_of_the_group_sends_from_it(people, who):
    with pytest.raises(ValidationError, match="只有群成员"):
        feedback.submit(group=people["group"], member=people[who], kind="suggestion", body="加个群活动吧")


def test_the_group_page_links_to_the_box_and_the_form_shows_errors_in_chinese(people):
    member, group = people[MemberRole.MEMBER], people["group"]
    client = browser_as(member)
    assert reverse("member:feedback_new", args=[group.pk]) in client.get(reverse("member:group", args=[group.pk])).text
    refused = client.post(reverse("member:feedback_new", args=[group.pk]), {"kind": "complaint", "body": ""})
    assert refused.status_code == 400 and "请填写内容。" in refused.text
    sent = client.post(reverse("member:feedback_new", args=[group.pk]), {"kind": "suggestion", "body": "希望多上水果"})
    item = Feedback.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("member:feedback_detail", args=[item.pk])


def test_outsiders_cannot_send_from_a_group_they_are_not_in(people):
    url = reverse("member:feedback_new", args=[people["group"].pk])
    for who in ("pending", "other_group_member", "other_shop_member", "stranger"):
        assert browser_as(people[who]).post(url, {"kind": "suggestion", "body": "x"}).status_code == 404
        assert (
            api_as(people[who])
            .post(
                f"/api/v1/me/groups/{people['group'].pk}/feedback/", {"kind": "suggestion", "body": "x"}, format="json"
            )
            .status_code
            == 404
        )
    assert not Feedback.objects.exists()


# --- The state table -----------------------------------------------------------------------------------


def test_route_answer_close_each_audited_and_the_member_told_once(item, department, operator, people):
    feedback.route(item=item, by=operator, department=department)
    assert item.state == FeedbackState.ROUTED and item.department == department and item.routed_at
    feedback.answer(item=item, by=operator, text="已为你补发一箱，抱歉。")
    assert item.state == FeedbackState.ANSWERED and item.answered_by == operator

    told = Notification.objects.get(user=people[MemberRole.MEMBER], kind="feedback_answered")
    assert told.category == "transactional" and told.body == "已为你补发一箱，抱歉。"
    assert told.url == reverse("member:feedback_detail", args=[item.pk])

    feedback.close(item=item, by=operator)
    assert item.state == FeedbackState.CLOSED and item.closed_at
    actions = list(AuditEntry.objects.filter(target_id=item.pk).order_by("pk").values_list("action", "actor"))
    assert actions == [
        ("group.feedback.route", operator.pk),
        ("group.feedback.answer", operator.pk),
        ("group.feedback.close", operator.pk),
    ]
    with pytest.raises(ValidationError, match="已经关闭"):
        feedback.close(item=item, by=operator)
    assert Notification.objects.filter(kind="feedback_answered").count() == 1


def test_an_item_is_answered_only_once_routed_and_never_twice(item, department, operator):
    with pytest.raises(ValidationError, match="请先转给处理部门"):
        feedback.answer(item=item, by=operator, text="好的")
    feedback.route(item=item, by=operator, department=department)
    feedback.answer(item=item, by=operator, text="好的")
    with pytest.raises(ValidationError, match="请先转给处理部门"):
        feedback.answer(item=item, by=operator, text="再答一次")
    with pytest.raises(ValidationError):
        feedback.route(item=item, by=operator, department=department)  # answered: routing is over
    item.refresh_from_db()
    assert item.answer == "好的"
    assert Notification.objects.filter(kind="feedback_answered").count() == 1


def test_routing_takes_an_active_department_of_the_same_shop(item, department, operator, owner):
    other = FeedbackDepartment.objects.create(shop=ShopFactory(), name="别家售后")
    with pytest.raises(ValidationError, match="本店启用中"):
        feedback.route(item=item, by=operator, department=other)
    feedback.set_department_active(department=department, by=owner, active=False)
    with pytest.raises(ValidationError, match="本店启用中"):
        feedback.route(item=item, by=operator, department=department)
    assert AuditEntry.objects.filter(action="group.feedback.department.update", actor=owner).count() == 1


def test_the_database_refuses_an_answered_item_without_an_answer(item):
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.filter(pk=item.pk).update(state=FeedbackState.ANSWERED)


def test_department_names_are_unique_in_a_shop(shop, owner, department):
    with pytest.raises(ValidationError, match="已有同名部门"):
        feedback.create_department(shop_id=shop.pk, by=owner, name="售后部")
    assert feedback.create_department(shop_id=ShopFactory().pk, by=owner, name="售后部").pk


# --- Who sees what -------------------------------------------------------------------------------------


def test_the_member_reads_the_answer_on_their_page_and_no_one_else_reads_it(item, department, operator, people):
    feedback.route(item=item, by=operator, department=department)
    feedback.answer(item=item, by=operator, text="已补发。")
    url = reverse("member:feedback_detail", args=[item.pk])
    page = browser_as(people[MemberRole.MEMBER]).get(url)
    assert page.status_code == 200 and "已补发。" in page.text and "售后部" in page.text
    for who in (MemberRole.OWNER, MemberRole.ADMIN, "other_group_member", "other_shop_member", "stranger"):
        assert browser_as(people[who]).get(url).status_code == 404
        assert api_as(people[who]).get(f"/api/v1/me/feedback/{item.pk}/").status_code == 404
        assert api_as(people[who]).get("/api/v1/me/feedback/").json()["count"] == 0
    mine = api_as(people[MemberRole.MEMBER]).get(f"/api/v1/me/feedback/{item.pk}/").json()
    assert (mine["state"], mine["answer"], mine["department"]) == ("answered", "已补发。", "售后部")


def test_the_photo_is_served_to_its_sender_and_the_shop_only(people, operator):
    sent = feedback.submit(
        group=people["group"], member=people[MemberRole.MEMBER], kind="complaint", body="破了", photo=photo((80, 80))
    )
    assert (
        browser_as(people[MemberRole.MEMBER]).get(reverse("member:feedback_photo", args=[sent.pk])).status_code == 200
    )
    assert browser_as(operator).get(reverse("dashboard:feedback_photo", args=[sent.pk])).status_code == 200
    assert browser_as(people["stranger"]).get(reverse("member:feedback_photo", args=[sent.pk])).status_code == 404
    other_owner = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    assert browser_as(other_owner).get(reverse("dashboard:feedback_photo", args=[sent.pk])).status_code == 404
    assert browser_as(people[MemberRole.MEMBER]).get(f"/media/private/{sent.photo.name}").status_code == 404


def test_another_shops_staff_find_nothing(item, department):
    other_owner = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    client, api = browser_as(other_owner), api_as(other_owner)
    assert client.get(reverse("dashboard:feedback_detail", args=[item.pk])).status_code == 404
    assert client.post(reverse("dashboard:feedback_close", args=[item.pk])).status_code == 404
    assert item.body not in client.get(reverse("dashboard:feedback")).text
    assert api.get(f"/api/v1/shop/feedback/{item.pk}/").status_code == 404
    assert api.post(f"/api/v1/shop/feedback/{item.pk}/route/", {"department": department.pk}).status_code == 404
    assert api.get("/api/v1/shop/feedback/").json()["count"] == 0
    item.refresh_from_db()
    assert item.state == FeedbackState.NEW


def test_a_viewer_reads_but_does_not_write(item, department, viewer):
    client, api = browser_as(viewer), api_as(viewer)
    assert client.get(reverse("dashboard:feedback_detail", args=[item.pk])).status_code == 200
    assert (
        client.post(reverse("dashboard:feedback_route", args=[item.pk]), {"department": department.pk}).status_code
        == 403
    )
    assert api.post(f"/api/v1/shop/feedback/{item.pk}/route/", {"department": department.pk}).status_code == 403
    assert client.post(reverse("dashboard:feedback_departments"), {"name": "物流部"}).status_code == 403
    item.refresh_from_db()
    assert item.state == FeedbackState.NEW


def test_the_operator_works_an_item_through_the_dashboard(item, department, operator):
    client = browser_as(operator)
    assert client.post(reverse("dashboard:feedback_answer", args=[item.pk]), {"answer": "好"}).status_code == 400
    routed = client.post(reverse("dashboard:feedback_route", args=[item.pk]), {"department": department.pk})
    assert routed.status_code == 302
    empty = client.post(reverse("dashboard:feedback_answer", args=[item.pk]), {"answer": ""})
    assert empty.status_code == 400 and "请填写内容。" in empty.text
    assert client.post(reverse("dashboard:feedback_answer", args=[item.pk]), {"answer": "已处理"}).status_code == 302
    page = client.get(reverse("dashboard:feedback_detail", args=[item.pk]))
    assert "已处理" in page.text and "已答复" in page.text


def test_the_operator_api_routes_answers_and_closes(item, department, operator):
    api = api_as(operator)
    bad = api.post(f"/api/v1/shop/feedback/{item.pk}/route/", {"department": 99999}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "department"
    assert (
        api.post(f"/api/v1/shop/feedback/{item.pk}/route/", {"department": department.pk}).json()["state"] == "routed"
    )
    answered = api.post(f"/api/v1/shop/feedback/{item.pk}/answer/", {"answer": "已补发"}, format="json").json()
    assert answered["state"] == "answered" and answered["answered_by"]["id"] == operator.pk
    listed = api.get("/api/v1/shop/feedback/", {"state": "answered"}).json()
    assert [row["id"] for row in listed["results"]] == [item.pk]
    assert api.get("/api/v1/shop/feedback/", {"state": "nonsense"}).status_code == 400
    assert api.post(f"/api/v1/shop/feedback/{item.pk}/close/").json()["state"] == "closed"
    assert api.post(f"/api/v1/shop/feedback/{item.pk}/close/").status_code == 400
    created = api.post("/api/v1/shop/feedback-departments/", {"name": "物流部"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "物流部"


def test_member_api_sends_with_a_photo(people):
    api = api_as(people[MemberRole.MEMBER])
    url = f"/api/v1/me/groups/{people['group'].pk}/feedback/"
    sent = api.post(url, {"kind": "suggestion", "body": "多些团购", "photo": photo((50, 50))})
    assert sent.status_code == 201 and sent.json()["photo_url"].endswith("/photo/")
    assert api.post(url, {"kind": "x", "body": "y"}, format="json").json()["errors"][0]["field"] == "kind"


# --- Constant queries ----------------------------------------------------------------------------------


def _fill(people, department, operator, n):
    for i in range(n):
        made = feedback.submit(group=people["group"], member=people[MemberRole.MEMBER], kind="suggestion", body=f"#{i}")
        feedback.route(item=made, by=operator, department=department)
        feedback.answer(item=made, by=operator, text="好")


def test_lists_cost_the_same_queries_for_one_item_and_for_ten(
    people, department, operator, django_assert_max_num_queries
):
    member = people[MemberRole.MEMBER]
    pages = [
        (browser_as(operator), reverse("dashboard:feedback")),
        (browser_as(member), reverse("member:feedback_list")),
        (api_as(operator), "/api/v1/shop/feedback/"),
        (api_as(member), "/api/v1/me/feedback/"),
    ]
    _fill(people, department, operator, 1)
    counts = []
    for client, url in pages:
        with django_assert_max_num_queries(30) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    _fill(people, department, operator, 9)
    for (client, url), before in zip(pages, counts, strict=True):
        with django_assert_max_num_queries(before):
            assert client.get(url).status_code == 200
