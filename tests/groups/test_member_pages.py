"""Members' mobile pages: invite landing in every link state, joining, my groups, leaving, my invite link,
its QR code and poster, and the phone-code sign-in that brings a visitor back to the link."""

import re
from datetime import timedelta
from io import BytesIO
from urllib.parse import urlencode

import pytest
import zxingcpp
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.sms import LocmemSmsBackend
from groups import services
from groups.models import (
    Group,
    GroupState,
    InviteLink,
    LinkVisit,
    MemberRole,
    Membership,
    MembershipStatus,
    Threshold,
    VisitKind,
)
from groups.services import JoinRefused
from referrals.models import EventKind, ReferralEvent
from tests.factories import GroupFactory, GroupSeriesFactory, InviteLinkFactory, UserFactory


def landing_url(link_or_code) -> str:
    code = getattr(link_or_code, "code", link_or_code)
    return reverse("member:landing", args=[code])


def join_url(link) -> str:
    return reverse("member:join", args=[link.code])


def page(response) -> str:
    return response.content.decode()


def said(reason: str) -> str:
    return str(JoinRefused.MESSAGES[reason])


def decode(png: bytes) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(BytesIO(png)))]


@pytest.fixture
def inviter(group):
    user = UserFactory(display_name="小美")
    services.add_member(group=group, user=user, by=None)
    return user


@pytest.fixture
def link(group, inviter):
    return services.personal_link(user=inviter, group=group)


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def refreshed(link: InviteLink) -> InviteLink:
    link.refresh_from_db()
    return link


# --- Landing page -----------------------------------------------------------------------------------


def test_landing_shows_the_group_the_inviter_and_a_sign_in_call_to_act(client, group, link):
    group.refresh_from_db()  # a stale instance would save the member count back to 0
    group.description, group.rules = "每天分享好物", "禁止发广告"
    group.save()

    response = client.get(landing_url(link))

    assert response.status_code == 200
    html = page(response)
    assert group.name in html and "每天分享好物" in html and "禁止发广告" in html
    assert "小美" in html
    assert f"1 / {group.capacity}" in html  # the inviter is the one member so far
    assert f'action="{join_url(link)}"' in html and "登录并加入" in html  # the tap signs in, then joins
    assert "立即加入" not in html


def test_landing_explains_paid_entry_honestly(client, shop, inviter):
    paid = GroupFactory(shop=shop, threshold=Threshold.PAID, entry_price="29.90")
    link = InviteLinkFactory(group=paid, inviter=inviter)

    html = page(client.get(landing_url(link)))

    assert "¥29.90" in html
    assert "支付成功后立即入群" in html and "原路退回" in html


def test_unknown_code_is_a_friendly_404(client, db):
    response = client.get(landing_url("no-such-code"))

    assert response.status_code == 404
    assert said("invalid") in page(response)


def _revoked(link):
    link.revoked_at = timezone.now()
    link.save()


def _expired(link):
    InviteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def _exhausted(link):
    InviteLink.objects.filter(pk=link.pk).update(max_uses=1, use_count=1)


def _full(link):
    # The smallest group there is (2), full: the inviter and one more seat taken.
    Group.objects.filter(pk=link.group_id).update(capacity=2, active_member_count=2)


def _archived(link):
    Group.objects.filter(pk=link.group_id).update(state=GroupState.ARCHIVED)


def _preparing(link):
    Group.objects.filter(pk=link.group_id).update(state=GroupState.PREPARING)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_revoked, "revoked"),
        (_expired, "expired"),
        (_exhausted, "exhausted"),
        (_full, "full"),
        (_archived, "archived"),
        (_preparing, "not_open"),
    ],
)
def test_a_link_with_a_problem_says_which_and_offers_no_join(member_client, link, spoil, reason):
    spoil(link)

    response = member_client.get(landing_url(link))

    assert response.status_code == 200
    html = page(response)
    assert said(reason) in html
    assert join_url(link) not in html


def test_an_open_is_counted_once_per_session(client, django_user_model, link):
    client.get(landing_url(link))
    client.get(landing_url(link))
    assert refreshed(link).open_count == 1

    client.logout()  # a new session is a new open
    client.get(landing_url(link))
    assert refreshed(link).open_count == 2


def test_a_sign_in_is_counted_when_an_anonymous_visitor_comes_back_signed_in(client, member, link):
    client.get(landing_url(link))
    assert refreshed(link).sign_in_count == 0

    client.force_login(member)
    client.get(landing_url(link))
    client.get(landing_url(link))

    link = refreshed(link)
    assert (link.open_count, link.sign_in_count) == (1, 1)
    # Dated, for the analytics funnel's first two steps; with the person for referrals.
    visits = list(LinkVisit.objects.filter(link=link).order_by("pk").values_list("kind", "signed_in", "group_id"))
    assert visits == [(VisitKind.OPENED, False, link.group_id), (VisitKind.SIGNED_IN, True, link.group_id)]
    signed_in = ReferralEvent.objects.get(kind=EventKind.LINK_SIGNED_IN)
    assert (signed_in.link_id, signed_in.invitee_id, signed_in.inviter_id) == (link.pk, member.pk, link.inviter_id)
    assert timezone.localdate(signed_in.occurred_at) == timezone.localdate()


def test_a_visitor_already_signed_in_is_not_counted_as_a_sign_in(member_client, link):
    member_client.get(landing_url(link))
    member_client.get(landing_url(link))

    link = refreshed(link)
    assert (link.open_count, link.sign_in_count) == (1, 0)
    assert not ReferralEvent.objects.filter(kind=EventKind.LINK_SIGNED_IN).exists()
    assert list(LinkVisit.objects.filter(link=link).values_list("kind", "signed_in")) == [(VisitKind.OPENED, True)]


def test_landing_tells_a_member_they_are_already_in(member_client, member, group, link):
    services.join_via_link(user=member, code=link.code)

    html = page(member_client.get(landing_url(link)))

    assert "你已经在这个群里了" in html
    assert reverse("member:group", args=[group.pk]) in html
    assert join_url(link) not in html


def test_being_in_another_group_of_the_shop_does_not_count_as_being_in_this_one(member_client, member, shop, link):
    services.add_member(group=GroupFactory(shop=shop), user=member, by=None)

    html = page(member_client.get(landing_url(link)))

    assert "你已经在这个群里了" not in html
    assert join_url(link) in html


# --- Joining ------------------------------------------------------------------------------------------


def test_joining_an_open_group_makes_an_active_member_and_goes_to_the_group(member_client, member, group, link):
    response = member_client.post(join_url(link))

    assert response.status_code == 302
    assert response["Location"] == reverse("member:group", args=[group.pk])
    membership = Membership.objects.get(group=group, user=member)
    assert membership.status == MembershipStatus.ACTIVE and membership.invite_link == link
    assert refreshed(link).join_count == 1


def test_joining_signed_out_goes_to_the_phone_sign_in_which_says_what_it_will_finish(client, group, link):
    response = client.post(join_url(link))

    assert response.status_code == 302
    assert response["Location"] == reverse("account_request_login_code") + "?" + urlencode({"next": join_url(link)})
    assert not Membership.objects.filter(group=group).exclude(user=link.inviter).exists()
    assert f"登录后继续：<strong>加入「{group.name}」</strong>" in page(client.get(response["Location"]))


def _sign_in_by_code(client, phone: str, next_url: str):
    sent = client.post(reverse("account_request_login_code"), {"phone": phone, "next": next_url})
    code = re.search(r"\b(\d{6})\b", LocmemSmsBackend.outbox[-1].text).group(1)
    return client.post(sent["Location"], {"code": code, "next": next_url})


def test_signing_in_after_tapping_join_finishes_the_join(client, group, link):
    client.get(landing_url(link))
    tapped = client.post(join_url(link))

    done = _sign_in_by_code(client, "13800138000", join_url(link))
    assert done["Location"] == join_url(link)
    joined = client.get(done["Location"])

    member = User.objects.get(phone="+8613800138000")
    assert tapped.status_code == 302 and joined.status_code == 302
    assert joined["Location"] == reverse("member:group", args=[group.pk])
    assert Membership.objects.get(group=group, user=member).status == MembershipStatus.ACTIVE
    assert f"欢迎加入「{group.name}」" in page(client.get(joined["Location"]))
    link = refreshed(link)
    assert (link.open_count, link.sign_in_count, link.join_count) == (1, 1, 1)
    # Done once: opening the join address again only shows the landing page.
    assert client.get(join_url(link))["Location"] == landing_url(link)


def test_signing_in_after_applying_keeps_the_answer(client, shop, inviter):
    vetted = GroupFactory(shop=shop, threshold=Threshold.SUBMISSION)
    link = InviteLinkFactory(group=vetted, inviter=inviter)
    assert 'name="answer"' in page(client.get(landing_url(link)))  # asked before signing in

    client.post(join_url(link), {"answer": "我做川菜"})
    _sign_in_by_code(client, "13800138001", join_url(link))
    client.get(join_url(link))

    membership = Membership.objects.get(group=vetted, user__phone="+8613800138001")
    assert membership.status == MembershipStatus.PENDING and membership.answer == "我做川菜"


def test_a_join_address_opened_by_get_without_a_tap_joins_nothing(member_client, member, group, link):
    response = member_client.get(join_url(link))

    assert response["Location"] == landing_url(link)
    assert not Membership.objects.filter(group=group, user=member).exists()


def test_joining_an_approval_group_shows_the_pending_page_and_keeps_the_answer(member_client, member, shop, inviter):
    group = GroupFactory(shop=shop, threshold=Threshold.APPROVAL, entry_question="你家宝宝多大？")
    link = InviteLinkFactory(group=group, inviter=inviter)

    response = member_client.post(join_url(link), {"answer": "  两岁半  "})

    assert response.status_code == 200
    assert "申请已提交" in page(response)
    membership = Membership.objects.get(group=group, user=member)
    assert (membership.status, membership.answer) == (MembershipStatus.PENDING, "两岁半")
    group.refresh_from_db()
    assert group.active_member_count == 0


def test_landing_asks_for_the_answer_of_a_submission_group(member_client, shop, inviter):
    group = GroupFactory(shop=shop, threshold=Threshold.SUBMISSION, entry_question="发一张你拍的照片")
    link = InviteLinkFactory(group=group, inviter=inviter)

    html = page(member_client.get(landing_url(link)))

    assert "发一张你拍的照片" in html
    assert re.search(r'<textarea[^>]*name="answer"[^>]*required', html, re.S)


def test_a_submission_without_an_answer_is_refused_and_nothing_is_written(member_client, member, shop, inviter):
    group = GroupFactory(shop=shop, threshold=Threshold.SUBMISSION, entry_question="发一张你拍的照片")
    link = InviteLinkFactory(group=group, inviter=inviter)

    response = member_client.post(join_url(link), {"answer": "   "})

    assert response.status_code == 200
    assert said("answer_required") in page(response)
    assert not Membership.objects.filter(group=group, user=member).exists()
    assert refreshed(link).use_count == 0


def test_a_banned_member_is_refused_with_a_message(member_client, member, group, link):
    membership = services.join_via_link(user=member, code=link.code)
    services.ban(membership=membership, by=link.inviter)

    response = member_client.post(join_url(link))

    assert response.status_code == 200
    assert said("banned") in page(response)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.BANNED


def test_a_full_group_refuses_the_join_with_a_message(member_client, member, group, link):
    _full(link)

    response = member_client.post(join_url(link))

    assert response.status_code == 200
    assert said("full") in page(response)
    assert not Membership.objects.filter(group=group, user=member).exists()


def test_joining_through_an_unknown_code_is_a_404(member_client):
    response = member_client.post(join_url(InviteLink(code="no-such-code")))

    assert response.status_code == 404
    assert said("invalid") in page(response)


def test_a_second_join_changes_nothing(member_client, member, group, link):
    first = member_client.post(join_url(link))
    second = member_client.post(join_url(link))

    assert first["Location"] == second["Location"] == reverse("member:group", args=[group.pk])
    assert Membership.objects.filter(group=group, user=member).count() == 1
    group.refresh_from_db()
    link = refreshed(link)
    assert (group.active_member_count, link.use_count, link.join_count) == (2, 1, 1)


def test_joining_a_series_lands_in_its_current_group(member_client, member, shop, inviter):
    series = GroupSeriesFactory(shop=shop)
    current = services.open_next_group_in_series(series=series)
    link = InviteLink.objects.create(shop=shop, series=series, inviter=inviter)

    assert series.name in page(member_client.get(landing_url(link)))
    response = member_client.post(join_url(link))

    assert response["Location"] == reverse("member:group", args=[current.pk])


# --- My groups, group page, leaving -------------------------------------------------------------------


def test_my_groups_lists_only_my_active_and_pending_memberships(member_client, member, shop, other_shop):
    mine = GroupFactory(shop=shop, name="我的群甲")
    pending = GroupFactory(shop=other_shop, name="待审核群乙", threshold=Threshold.APPROVAL)
    left = GroupFactory(shop=shop, name="已退出群丙")
    others = GroupFactory(shop=shop, name="别人的群丁")
    services.add_member(group=mine, user=member, by=None)
    services.join_via_link(user=member, code=InviteLinkFactory(group=pending).code)
    services.leave(membership=services.add_member(group=left, user=member, by=None))
    services.add_member(group=others, user=UserFactory(), by=None)

    html = page(member_client.get(reverse("member:my_groups")))

    assert "我的群甲" in html and "待审核群乙" in html
    assert shop.name in html and other_shop.name in html
    assert "已退出群丙" not in html and "别人的群丁" not in html


def test_my_groups_needs_a_phone_sign_in(client, db):
    response = client.get(reverse("member:my_groups"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_request_login_code") + "?next=")


def test_my_groups_costs_the_same_queries_for_2_and_20_memberships(member_client, member, shop):
    def queries_with(n: int) -> int:
        Membership.objects.filter(user=member).delete()
        for _ in range(n):
            services.add_member(group=GroupFactory(shop=shop), user=member, by=None)
        member_client.get(reverse("member:my_groups"))  # warm: the inbox badge is cached after a first visit
        with CaptureQueriesContext(connection) as ctx:
            response = member_client.get(reverse("member:my_groups"))
        assert response.status_code == 200
        assert page(response).count('class="group-item"') == n
        return len(ctx.captured_queries)

    assert queries_with(2) == queries_with(20)


def test_group_page_shows_my_role_and_actions(member_client, member, group):
    services.add_member(group=group, user=member, by=None, role=MemberRole.ADMIN)

    html = page(member_client.get(reverse("member:group", args=[group.pk])))

    assert group.name in html and "管理员" in html
    assert reverse("member:my_invite", args=[group.pk]) in html
    assert reverse("member:leave", args=[group.pk]) in html


def test_group_page_reads_the_group_with_my_membership_in_one_query(member_client, member, group):
    """Issue 19: session, user, my membership with its group and shop, the running campaigns, my powers.
    The group was read a second time (group_for_member, then the membership) before."""
    services.add_member(group=group, user=member, by=None)
    url = reverse("member:group", args=[group.pk])
    assert member_client.get(url).status_code == 200  # the inbox badge's count is cached from now on

    with CaptureQueriesContext(connection) as ctx:
        assert member_client.get(url).status_code == 200

    tables = [re.search(r'FROM "(\w+)"', q["sql"]).group(1) for q in ctx.captured_queries]  # first FROM of each
    assert tables == ["django_session", "accounts_user", "groups_membership", "campaigns_campaign", "shops_operator"]
    assert '"groups_group"' in ctx.captured_queries[2]["sql"] and '"shops_shop"' in ctx.captured_queries[2]["sql"]


@pytest.mark.parametrize("name", ["member:group", "member:leave", "member:my_invite"])
def test_pages_of_a_group_i_am_not_in_are_404(member_client, member, group, name):
    services.add_member(group=group, user=UserFactory(), by=None)
    url = reverse(name, args=[group.pk])

    assert member_client.get(url).status_code == 404
    assert member_client.post(url).status_code in (404, 405)


def test_a_left_group_is_404_too(member_client, member, group):
    services.leave(membership=services.add_member(group=group, user=member, by=None))

    assert member_client.get(reverse("member:group", args=[group.pk])).status_code == 404


def test_leaving_asks_first_then_leaves(member_client, member, group):
    services.add_member(group=group, user=member, by=None)
    url = reverse("member:leave", args=[group.pk])

    assert "确定退出" in page(member_client.get(url))
    assert Membership.objects.get(group=group, user=member).status == MembershipStatus.ACTIVE

    response = member_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == reverse("member:my_groups")
    assert Membership.objects.get(group=group, user=member).status == MembershipStatus.LEFT
    group.refresh_from_db()
    assert group.active_member_count == 0


def test_the_owner_cannot_leave_and_is_told_why(member_client, member, group):
    services.add_member(group=group, user=member, by=None, role=MemberRole.OWNER)

    response = member_client.post(reverse("member:leave", args=[group.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("member:group", args=[group.pk])
    assert "群主不能退出" in page(response)
    assert Membership.objects.get(group=group, user=member).status == MembershipStatus.ACTIVE


# --- My invite link, QR code, poster ------------------------------------------------------------------


def test_my_invite_page_shows_my_personal_link_and_what_it_brought(member_client, member, group):
    services.add_member(group=group, user=member, by=None)

    html = page(member_client.get(reverse("member:my_invite", args=[group.pk])))

    link = InviteLink.objects.get(inviter=member, group=group, is_personal=True)
    assert link.public_url in html
    assert reverse("member:invite_qr", args=[link.code]) in html
    assert reverse("member:invite_poster", args=[link.code]) in html

    services.join_via_link(user=UserFactory(), code=link.code)
    html = page(member_client.get(reverse("member:my_invite", args=[group.pk])))
    assert re.search(r"<strong>1</strong><span>邀请加入", html)
    assert InviteLink.objects.filter(inviter=member, group=group).count() == 1  # reused, not remade


def test_a_pending_member_gets_no_invite_link_but_a_message(member_client, member, shop, inviter):
    group = GroupFactory(shop=shop, threshold=Threshold.APPROVAL)
    services.join_via_link(user=member, code=InviteLinkFactory(group=group, inviter=inviter).code)

    response = member_client.get(reverse("member:my_invite", args=[group.pk]))

    assert response.status_code == 200
    assert "加入后才能邀请好友" in page(response)
    assert not InviteLink.objects.filter(inviter=member).exists()


def test_qr_png_decodes_to_the_link(client, link):
    client.force_login(link.inviter)

    response = client.get(reverse("member:invite_qr", args=[link.code]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert decode(response.content) == [link.public_url]


def test_qr_svg_is_served_inline(client, link):
    client.force_login(link.inviter)

    response = client.get(reverse("member:invite_qr_svg", args=[link.code]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"].startswith("inline")
    assert b"<svg" in response.content


def _cover_file() -> ContentFile:
    img = Image.new("RGB", (900, 500), (230, 190, 150))
    ImageDraw.Draw(img).ellipse((300, 100, 600, 400), fill=(200, 90, 60))
    buf = BytesIO()
    img.save(buf, "JPEG")
    return ContentFile(buf.getvalue(), name="cover.jpg")


def test_poster_uses_the_cover_and_decodes_to_the_link(client, group, link):
    group.refresh_from_db()
    group.cover = _cover_file()
    group.save()
    InviteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + timedelta(days=3))
    client.force_login(link.inviter)

    response = client.get(reverse("member:invite_poster", args=[link.code]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    poster = Image.open(BytesIO(response.content)).convert("RGB")
    assert poster.getpixel((375, 200)) != (46, 125, 91)  # the cover, not the plain colour block
    assert link.public_url in decode(response.content)


def test_poster_without_a_readable_cover_still_renders(client, group, link):
    group.refresh_from_db()
    group.cover = "group_covers/gone.jpg"  # the file is missing from storage
    group.save()
    client.force_login(link.inviter)

    response = client.get(reverse("member:invite_poster", args=[link.code]))

    assert response.status_code == 200
    assert link.public_url in decode(response.content)


@pytest.mark.parametrize("name", ["member:invite_qr", "member:invite_qr_svg", "member:invite_poster"])
def test_qr_and_poster_of_someone_elses_link_are_404(member_client, member, group, link, name):
    services.add_member(group=group, user=member, by=None)  # same group, still not their link

    assert member_client.get(reverse(name, args=[link.code])).status_code == 404
    assert member_client.get(reverse(name, args=["no-such-code"])).status_code == 404


def test_qr_needs_sign_in(client, link):
    response = client.get(reverse("member:invite_qr", args=[link.code]))

    assert response.status_code == 302
    assert not response.get("Content-Type", "").startswith("image/")


# --- Signing in ---------------------------------------------------------------------------------------


def test_the_phone_code_sign_in_brings_a_new_visitor_back_to_the_link(client, group, link):
    landing = landing_url(link)
    client.get(landing)

    request_url = reverse("account_request_login_code") + "?" + urlencode({"next": landing})
    form = client.get(request_url)
    assert form.status_code == 200
    html = page(form)
    assert "获取验证码" in html and 'name="phone"' in html
    assert 'name="email"' not in html  # members see only the phone field

    sent = client.post(request_url, {"phone": "138 0013 8000", "next": landing})
    assert sent.status_code == 302
    confirm_url = sent["Location"]
    assert confirm_url.startswith(reverse("account_confirm_login_code"))
    assert "输入验证码" in page(client.get(confirm_url))

    message = LocmemSmsBackend.outbox[-1]
    assert message.phone == "+8613800138000"
    code = re.search(r"[0-9A-Z]{3,}(?:-[0-9A-Z]{3,})*", message.text).group(0)

    done = client.post(confirm_url, {"code": code, "next": landing})

    assert done.status_code == 302 and done["Location"] == landing
    user = User.objects.get(phone="+8613800138000")
    assert int(client.session["_auth_user_id"]) == user.pk
    after = page(client.get(landing))
    assert join_url(link) in after and "立即加入" in after
    link = refreshed(link)
    assert (link.open_count, link.sign_in_count) == (1, 1)
    # Dated, with the person, for the analytics funnel's "signed in" step (referrals record it).
    signed_in = ReferralEvent.objects.get(kind=EventKind.LINK_SIGNED_IN)
    assert (signed_in.link_id, signed_in.invitee_id, signed_in.inviter_id) == (link.pk, user.pk, link.inviter_id)
    assert timezone.localdate(signed_in.occurred_at) == timezone.localdate()


def test_a_wrong_code_does_not_sign_in(client, db):
    sent = client.post(reverse("account_request_login_code"), {"phone": "13800138000"})
    response = client.post(sent["Location"], {"code": "WRONG-CODE"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_operator_login_page_links_to_the_code_flow_keeping_next(client, db):
    html = page(client.get(reverse("account_login") + "?next=/m/groups/"))

    assert 'name="login"' in html
    code_url = reverse("account_request_login_code") + "?next=%2Fm%2Fgroups%2F"
    assert f'href="{code_url}"' in html and "手机验证码登录" in html


def test_sign_out_page_and_language_switch(member_client):
    html = page(member_client.get(reverse("account_logout")))
    assert f'action="{reverse("account_logout")}"' in html
    assert f'action="{reverse("set_language")}"' in html and 'value="en"' in html

    member_client.post(reverse("account_logout"))

    assert "_auth_user_id" not in member_client.session


def test_home_page_welcomes_visitors(client, db):
    html = page(client.get(reverse("home")))

    assert reverse("account_login") in html
    assert reverse("account_request_login_code") in html


def test_names_people_choose_are_escaped(client, group):
    inviter = UserFactory(display_name="<script>x</script>")
    services.add_member(group=group, user=inviter, by=None)
    Group.objects.filter(pk=group.pk).update(description="<img src=x onerror=alert(1)>")
    link = services.personal_link(user=inviter, group=group)

    html = page(client.get(landing_url(link)))

    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<img src=x" not in html
