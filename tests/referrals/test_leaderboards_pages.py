"""Leaderboard pages: members see their rank, operators their own shop's boards (never another shop's),
platform admins every shop's, with drill-down and export."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from groups.services import join_via_link
from referrals.models import EventKind
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, ShopFactory, UserFactory
from tests.referrals.board_support import at, record

pytestmark = pytest.mark.django_db

BOARD = reverse("dashboard:leaderboards")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def two_shops(shop, other_shop, committed):
    """Shop A's champion 阿丽 (3 joins); shop B's 秘密冠军 (5 joins), whom A's operators must never see."""
    alice, secret = UserFactory(display_name="阿丽"), UserFactory(display_name="秘密冠军")
    with committed():
        for _ in range(3):
            record(shop=shop, inviter=alice, invitee=UserFactory(), kind=EventKind.JOINED, at=at(5))
        for _ in range(5):
            record(shop=other_shop, inviter=secret, invitee=UserFactory(), kind=EventKind.JOINED, at=at(5))
    return alice, secret


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, phone=None, email="admin@platform.test"))
    return client


# --- Operators ------------------------------------------------------------------------------------


def test_operators_see_their_shops_board_only(operator_client, two_shops):
    alice, secret = two_shops
    response = operator_client.get(BOARD, {"metric": "joins"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "阿丽" in body and "秘密冠军" not in body
    assert "带来入群" in body and "全店" in body


def test_another_shops_group_is_not_a_choice(operator_client, two_shops, other_shop):
    foreign = GroupFactory(shop=other_shop)
    response = operator_client.get(BOARD, {"metric": "joins", "scope": "group", "group": foreign.pk})
    body = response.content.decode()
    assert response.status_code == 200 and "秘密冠军" not in body
    assert "已显示全店总榜" in body  # the bad choice is reported, the shop's own board shown


def test_drilling_into_a_member_of_another_shop_is_a_404(operator_client, two_shops):
    alice, secret = two_shops
    assert operator_client.get(reverse("dashboard:leaderboard_member", args=[secret.pk])).status_code == 404
    response = operator_client.get(reverse("dashboard:leaderboard_member", args=[alice.pk]))
    assert response.status_code == 200 and "阿丽" in response.content.decode()


def test_export_is_the_shops_board_as_csv(operator_client, two_shops, shop, committed):
    sneaky = UserFactory(display_name="=HYPERLINK(1)")
    with committed():
        record(shop=shop, inviter=sneaky, invitee=UserFactory(), kind=EventKind.JOINED, at=at(6))
    response = operator_client.get(reverse("dashboard:leaderboard_export"), {"metric": "joins"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][1:5] == ["1", str(two_shops[0].pk), "阿丽", "3"]
    assert rows[2][3] == "'=HYPERLINK(1)"  # a spreadsheet will not run it
    assert "秘密冠军" not in response.content.decode()


def test_viewers_cannot_rebuild_operators_can(client, viewer, operator, two_shops):
    client.force_login(viewer)
    assert client.post(reverse("dashboard:leaderboard_rebuild"), {"metric": "joins"}).status_code == 403
    client.force_login(operator)
    response = client.post(reverse("dashboard:leaderboard_rebuild"), {"metric": "joins"}, follow=True)
    assert "已从数据库重建榜单，共 1 人上榜" in response.content.decode()


def test_the_board_page_runs_the_same_queries_for_one_row_or_fifty(operator_client, shop, committed):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(BOARD, {"metric": "joins"}).status_code == 200
        return len(captured)

    with committed():
        record(shop=shop, inviter=UserFactory(), invitee=UserFactory(), kind=EventKind.JOINED)
    one = queries()
    with committed():
        for _ in range(60):
            record(shop=shop, inviter=UserFactory(), invitee=UserFactory(), kind=EventKind.JOINED)
    assert queries() == one


# --- Platform admins ---------------------------------------------------------------------------------


def test_platform_admins_see_every_shops_board_and_drill_down(staff_client, two_shops, other_shop):
    alice, secret = two_shops
    response = staff_client.get(reverse("platform:leaderboards"), {"shop": other_shop.pk, "metric": "joins"})
    assert response.status_code == 200 and "秘密冠军" in response.content.decode()

    drill = staff_client.get(reverse("platform:member", args=[other_shop.pk, secret.pk]))
    assert drill.status_code == 200
    assert drill.content.decode().count("入群") >= 5

    export = staff_client.get(reverse("platform:leaderboard_export"), {"shop": other_shop.pk, "metric": "joins"})
    assert "秘密冠军" in export.content.decode("utf-8-sig")


def test_platform_pages_are_for_platform_admins_only(client, operator, two_shops):
    assert client.get(reverse("platform:leaderboards")).status_code == 302  # to sign-in
    client.force_login(operator)
    for url in (
        reverse("platform:leaderboards"),
        reverse("platform:leaderboard_export"),
        reverse("platform:fraud_flags"),
    ):
        assert client.get(url).status_code == 403, url


def test_a_member_the_shop_never_saw_is_a_404_for_platform_admins_too(staff_client, shop):
    assert staff_client.get(reverse("platform:member", args=[shop.pk, UserFactory().pk])).status_code == 404


# --- Members -----------------------------------------------------------------------------------------


def _member_in(group):
    user = UserFactory(display_name="我自己")
    join_via_link(user=user, code=InviteLinkFactory(group=group).code)
    return user


def test_members_see_their_rank_on_their_phone(client, shop, committed):
    group = GroupFactory(shop=shop)
    me, leader = _member_in(group), UserFactory(display_name="榜首")
    with committed():
        for _ in range(3):
            record(shop=shop, inviter=leader, invitee=UserFactory(), kind=EventKind.QUALIFIED)
        record(shop=shop, inviter=me, invitee=UserFactory(), kind=EventKind.QUALIFIED)
    client.force_login(me)

    response = client.get(reverse("boards:my_rank"), {"period": "all"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "榜首" in body and "我自己" in body
    assert response.context["mine"].rank == 2 and response.context["size"] == 2


def test_the_member_page_reads_the_board_without_sql_in_constant_queries(client, shop, committed):
    """Top 50, my rank and the names come from Redis: the page's SQL is the frame only (session, user,
    the member's groups, the base page's own), the same for one ranked member or sixty."""
    group = GroupFactory(shop=shop)
    me = _member_in(group)
    client.force_login(me)

    def page():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("boards:my_rank"), {"metric": "joins", "period": "all"})
        assert response.status_code == 200
        return response, [q["sql"] for q in captured]

    with committed():
        record(shop=shop, inviter=me, invitee=UserFactory(), kind=EventKind.JOINED)
    page()  # the frame's own caches (the inbox count) are filled on a first visit
    _one, few = page()
    with committed():
        for _ in range(60):
            record(shop=shop, inviter=UserFactory(), invitee=UserFactory(), kind=EventKind.JOINED)
    response, many = page()

    assert len(many) == len(few)
    assert not [sql for sql in many if "referrals_" in sql or "accounts_user" in sql and " IN (" in sql], many
    assert response.content.decode().count('class="rank-no"') == 50
    assert response.context["size"] == 61


def test_members_only_see_boards_of_their_own_shops_and_groups(client, shop, other_shop, two_shops):
    group = GroupFactory(shop=shop)
    me = _member_in(group)
    client.force_login(me)

    response = client.get(
        reverse("boards:my_rank"),
        {"shop": other_shop.pk, "period": "all", "metric": "joins", "group": GroupFactory(shop=other_shop).pk},
    )

    body = response.content.decode()
    assert "秘密冠军" not in body and "阿丽" in body
    assert response.context["group"] is None and response.context["shop"] == shop


def test_a_member_in_no_group_is_told_how_to_get_on_a_board(client, member):
    client.force_login(member)
    response = client.get(reverse("boards:my_rank"))
    assert response.status_code == 200 and "加入一个群后" in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get(reverse("boards:my_rank")).status_code == 302


def test_unknown_choices_fall_back_without_an_error(client, shop):
    me = _member_in(GroupFactory(shop=shop))
    client.force_login(me)
    assert client.get(reverse("boards:my_rank"), {"metric": "likes", "period": "year"}).status_code == 200


def test_operator_of_two_shops_sees_the_one_they_work_in(client, shop, other_shop, two_shops):
    user = OperatorFactory(shop=shop).user
    OperatorFactory(shop=ShopFactory(), user=user)
    client.force_login(user)
    assert "秘密冠军" not in client.get(BOARD, {"metric": "joins"}).content.decode()
