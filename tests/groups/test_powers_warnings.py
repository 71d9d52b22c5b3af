"""群规 enforcement and the messages of issue 15 (items 4 and 5): warnings counted per stay, the Nth removes
(the shop's setting), appeals decided by operators, every act audited with its author, and one message
per act through the outbox — never two."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from groups import enforcement, services
from groups.models import (
    AppealState,
    AutomationSettings,
    MemberRole,
    Membership,
    MembershipStatus,
    MemberWarning,
    Threshold,
    WarningAppeal,
)
from notifications.models import Category, Notification
from shops.models import AuditEntry, OperatorRole
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, ShopFactory, UserFactory, shop_owner


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _messages(user, kind=None):
    qs = Notification.objects.filter(user=user)
    return qs.filter(kind=kind) if kind else qs


@pytest.fixture
def group(db):
    return GroupFactory(
        rules="不发广告\n- 不发外部链接\n\n不说脏话", welcome_message="欢迎！先读群规，周三晚上有微课。"
    )


@pytest.fixture
def steward(group):
    user = UserFactory(display_name="群管小王")
    services.add_member(group=group, user=user, by=shop_owner(group.shop), role=MemberRole.ADMIN)
    return user


@pytest.fixture
def member(group):
    return services.add_member(group=group, user=UserFactory(display_name="小李"), by=shop_owner(group.shop))


# --- Warnings and the removal they bring --------------------------------------------------------------


def test_the_third_warning_removes_the_member_and_each_is_told_once(group, steward, member):
    first = enforcement.warn(membership=member, by=steward, rule="不发广告")
    second = enforcement.warn(membership=member, by=steward, rule="不发外部链接")
    assert not first.removed_member and not second.removed_member
    assert Membership.objects.get(pk=member.pk).status == MembershipStatus.ACTIVE
    seats = type(group).objects.get(pk=group.pk).active_member_count

    third = enforcement.warn(membership=member, by=steward, rule="不说脏话")

    assert third.removed_member
    removed = Membership.objects.get(pk=member.pk)
    assert removed.status == MembershipStatus.REMOVED and removed.decided_by == steward
    assert "第 3 次群规警告：不说脏话" in removed.note
    assert type(group).objects.get(pk=group.pk).active_member_count == seats - 1
    warned = _messages(member.user, "group_warned")
    assert [m.key for m in warned.order_by("pk")] == [f"group:warning:{first.pk}", f"group:warning:{second.pk}"]
    assert "第 2 次警告：不发外部链接" in warned.order_by("pk").last().body
    assert _messages(member.user, "group_removed").count() == 1  # the third warning tells the removal only
    assert all(m.category == Category.TRANSACTIONAL for m in _messages(member.user))
    entries = AuditEntry.objects.filter(action="group.member.warn").order_by("pk")
    assert [(e.actor, e.after["count"], e.after["removed"]) for e in entries] == [
        (steward, 1, False),
        (steward, 2, False),
        (steward, 3, True),
    ]


def test_the_count_is_the_shops_setting(group, steward, member):
    AutomationSettings.objects.create(shop=group.shop, warnings_before_removal=1)
    warning = enforcement.warn(membership=member, by=steward, rule="不发广告")
    assert warning.removed_member
    assert Membership.objects.get(pk=member.pk).status == MembershipStatus.REMOVED


def test_withdrawn_warnings_and_those_of_an_earlier_stay_do_not_count(group, steward, member):
    AutomationSettings.objects.create(shop=group.shop, warnings_before_removal=2)
    old = enforcement.warn(membership=member, by=steward, rule="不发广告")
    appeal = enforcement.appeal(warning=old, member=member.user, text="我发的是群里要的链接")
    enforcement.decide_appeal(appeal=appeal, by=shop_owner(group.shop), withdraw=True)
    assert not enforcement.warn(membership=member, by=steward, rule="不说脏话").removed_member  # 1 standing

    assert enforcement.warn(membership=member, by=steward, rule="不说脏话").removed_member
    back = services.add_member(group=group, user=member.user, by=shop_owner(group.shop))  # a new stay
    assert not enforcement.warn(membership=back, by=steward, rule="不发广告").removed_member


def test_rules_to_pick_from_are_the_groups_rule_lines(group):
    assert enforcement.rule_choices(group) == ["不发广告", "不发外部链接", "不说脏话"]
    group.rules = "1. 只聊育儿\n2、不发广告\n（3）互相尊重\n(4) 不刷屏\n• 2025 年起禁止拼车"
    assert enforcement.rule_choices(group) == ["只聊育儿", "不发广告", "互相尊重", "不刷屏", "2025 年起禁止拼车"]


@pytest.mark.parametrize("rule", ["", "   "])
def test_a_warning_names_the_rule_broken(group, steward, member, rule):
    with pytest.raises(ValidationError):
        enforcement.warn(membership=member, by=steward, rule=rule)
    assert not MemberWarning.objects.exists() and not AuditEntry.objects.filter(action="group.member.warn").exists()


def test_whom_a_steward_may_not_warn(group, steward):
    owner = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop), role=MemberRole.OWNER)
    other_admin = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop), role=MemberRole.ADMIN)
    mine = Membership.objects.get(group=group, user=steward)
    with pytest.raises(ValidationError, match="群主"):
        enforcement.warn(membership=owner, by=steward, rule="不发广告")
    with pytest.raises(ValidationError, match="自己"):
        enforcement.warn(membership=mine, by=steward, rule="不发广告")
    with pytest.raises(PermissionDenied):
        enforcement.warn(membership=other_admin, by=steward, rule="不发广告")
    operator = OperatorFactory(shop=group.shop, role=OperatorRole.OPERATOR).user
    assert enforcement.warn(membership=other_admin, by=operator, rule="不发广告").by == operator
    assert MemberWarning.objects.count() == 1


def test_a_core_member_or_another_groups_admin_cannot_warn(group, member):
    core = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop), role=MemberRole.CORE)
    elsewhere = GroupFactory(shop=group.shop)
    other_admin = UserFactory()
    services.add_member(group=elsewhere, user=other_admin, by=shop_owner(group.shop), role=MemberRole.ADMIN)
    for who in (core.user, other_admin, OperatorFactory(shop=group.shop, role=OperatorRole.VIEWER).user):
        with pytest.raises(PermissionDenied):
            enforcement.warn(membership=member, by=who, rule="不发广告")
    assert not MemberWarning.objects.exists()


def test_a_steward_removes_only_at_the_count_and_an_operator_any_time(group, steward, member):
    with pytest.raises(ValidationError, match="未满 3 次"):
        enforcement.remove(membership=member, by=steward, reason="捣乱")
    enforcement.warn(membership=member, by=steward, rule="不发广告")
    enforcement.warn(membership=member, by=steward, rule="不发广告")
    AutomationSettings.objects.create(shop=group.shop, warnings_before_removal=2)  # lowered since

    enforcement.remove(membership=member, by=steward, reason="警告已满")
    assert Membership.objects.get(pk=member.pk).status == MembershipStatus.REMOVED
    entry = AuditEntry.objects.get(action="group.member.remove")
    assert entry.actor == steward

    other = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop))
    operator = OperatorFactory(shop=group.shop, role=OperatorRole.OPERATOR).user
    enforcement.remove(membership=other, by=operator, reason="运营移出")
    assert Membership.objects.get(pk=other.pk).status == MembershipStatus.REMOVED
    assert _messages(other.user, "group_removed").get().body.endswith("原因：运营移出")


def test_the_warn_page_warns_with_a_chosen_rule_or_free_text(group, steward, member):
    client = _client(steward)
    url = reverse("member:steward_warn", args=[group.pk, member.pk])
    page = client.get(url).content.decode()
    assert "不发外部链接" in page
    assert client.post(url, {"rule": "不发外部链接"}).status_code == 302
    assert client.post(url, {"rule": "不发广告", "other": "在群里拉人去别的群"}).status_code == 302
    assert client.post(url, {}).status_code == 200  # neither: the form says so
    assert client.post(url, {"rule": "不在群规里的一条"}).status_code == 200
    assert list(MemberWarning.objects.order_by("pk").values_list("rule", flat=True)) == [
        "不发外部链接",
        "在群里拉人去别的群",
    ]


# --- Appeals --------------------------------------------------------------------------------------------


def test_a_member_reads_their_warnings_and_appeals_once(group, steward, member):
    warning = enforcement.warn(membership=member, by=steward, rule="不发广告")
    client = _client(member.user)
    assert "不发广告" in client.get(reverse("member:my_warnings")).content.decode()

    url = reverse("member:warning_appeal", args=[warning.pk])
    assert client.post(url, {"text": "那是我自己做的手工，不是广告"}).status_code == 302
    assert client.post(url, {"text": "再申诉一次"}).status_code == 302
    appeal = WarningAppeal.objects.get()
    assert (appeal.text, appeal.state, appeal.shop_id) == (
        "那是我自己做的手工，不是广告",
        AppealState.OPEN,
        group.shop_id,
    )
    # Someone else's warning does not exist for them.
    assert _client(UserFactory()).post(url, {"text": "x"}).status_code == 404
    assert _client(steward).post(url, {"text": "x"}).status_code == 404


def test_operators_decide_appeals_once_and_it_is_audited_and_told(group, steward, member):
    warning = enforcement.warn(membership=member, by=steward, rule="不发广告")
    appeal = enforcement.appeal(warning=warning, member=member.user, text="误会")
    operator = OperatorFactory(shop=group.shop, role=OperatorRole.OPERATOR).user
    client = _client(operator)
    assert "误会" in client.get(reverse("dashboard:warning_appeals")).content.decode()

    url = reverse("dashboard:decide_warning_appeal", args=[appeal.pk])
    assert client.post(url, {"decision": "withdraw", "note": "确认是误会"}).status_code == 302
    assert client.post(url, {"decision": "uphold"}).status_code == 302  # decided already: refused

    appeal.refresh_from_db()
    warning.refresh_from_db()
    assert (appeal.state, appeal.decided_by, appeal.decision_note) == (AppealState.WITHDRAWN, operator, "确认是误会")
    assert warning.withdrawn_at is not None
    entry = AuditEntry.objects.get(action="group.warning.appeal.decide")
    assert (entry.actor, entry.after["state"]) == (operator, AppealState.WITHDRAWN)
    told = _messages(member.user, "group_appeal_decided").get()
    assert "已撤销" in told.body and "确认是误会" in told.body


def test_other_shops_and_viewers_cannot_decide(group, steward, member):
    appeal = enforcement.appeal(
        warning=enforcement.warn(membership=member, by=steward, rule="不发广告"), member=member.user, text="误会"
    )
    url = reverse("dashboard:decide_warning_appeal", args=[appeal.pk])
    other = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    assert _client(other).post(url, {"decision": "withdraw"}).status_code == 404
    assert "误会" not in _client(other).get(reverse("dashboard:warning_appeals")).content.decode()
    viewer = OperatorFactory(shop=group.shop, role=OperatorRole.VIEWER).user
    assert _client(viewer).post(url, {"decision": "withdraw"}).status_code == 403
    assert _client(steward).post(url, {"decision": "withdraw"}).status_code in (302, 403)  # no seat: no dashboard
    with pytest.raises(PermissionDenied):
        enforcement.decide_appeal(appeal=appeal, by=steward, withdraw=True)
    assert WarningAppeal.objects.get(pk=appeal.pk).state == AppealState.OPEN


# --- Messages to applicants and members -------------------------------------------------------------------


def test_joining_an_open_group_sends_its_welcome_once(group):
    user, link = UserFactory(), InviteLinkFactory(group=group)
    services.join_via_link(user=user, code=link.code)
    services.join_via_link(user=user, code=link.code)  # the second tap changes nothing
    welcome = _messages(user).get()
    assert (welcome.kind, welcome.body, welcome.category) == (
        "group_welcome",
        "欢迎！先读群规，周三晚上有微课。",
        Category.TRANSACTIONAL,
    )


def test_a_group_without_a_welcome_message_sends_none(db):
    group = GroupFactory()
    services.join_via_link(user=(user := UserFactory()), code=InviteLinkFactory(group=group).code)
    assert not _messages(user).exists()


def test_rejoining_is_a_new_act_with_its_own_welcome(group):
    user, link = UserFactory(), InviteLinkFactory(group=group)
    membership = services.join_via_link(user=user, code=link.code)
    services.leave(membership=membership)
    services.join_via_link(user=user, code=link.code)
    assert _messages(user, "group_welcome").count() == 2


def test_approval_and_rejection_tell_the_applicant_once(group, steward):
    group.threshold = Threshold.APPROVAL
    group.save(update_fields=["threshold"])
    ok, no = UserFactory(), UserFactory()
    yes_m = services.join_via_link(user=ok, code=InviteLinkFactory(group=group).code, answer="宝妈")
    no_m = services.join_via_link(user=no, code=InviteLinkFactory(group=group).code, answer="卖货的")

    enforcement.approve(membership=yes_m, by=steward)
    enforcement.reject(membership=no_m, by=steward, reason="本群不接受商家")
    for again in (
        lambda: enforcement.approve(membership=yes_m, by=steward),
        lambda: enforcement.reject(membership=no_m, by=steward, reason="x"),
    ):
        with pytest.raises(ValidationError):
            again()

    approved = _messages(ok).get()  # the welcome rides on the approval: one message
    assert approved.kind == "group_approved" and "欢迎！先读群规" in approved.body
    rejected = _messages(no).get()
    assert rejected.kind == "group_rejected" and rejected.body.endswith("原因：本群不接受商家")
    assert set(AuditEntry.objects.filter(actor=steward).values_list("action", flat=True)) == {
        "group.member.approve",
        "group.member.reject",
    }


def test_a_rejection_needs_a_reason(group, steward):
    group.threshold = Threshold.APPROVAL
    group.save(update_fields=["threshold"])
    pending = services.join_via_link(user=UserFactory(), code=InviteLinkFactory(group=group).code, answer="x")
    with pytest.raises(ValidationError):
        enforcement.reject(membership=pending, by=steward, reason=" ")
    assert Membership.objects.get(pk=pending.pk).status == MembershipStatus.PENDING


def test_an_operators_dashboard_decisions_tell_the_member_too(group):
    group.threshold = Threshold.APPROVAL
    group.save(update_fields=["threshold"])
    pending = services.join_via_link(user=(user := UserFactory()), code=InviteLinkFactory(group=group).code, answer="x")
    services.approve(membership=pending, by=shop_owner(group.shop))
    services.ban(membership=Membership.objects.get(pk=pending.pk), by=shop_owner(group.shop), reason="诈骗")
    assert list(_messages(user).order_by("pk").values_list("kind", flat=True)) == ["group_approved", "group_removed"]
    assert "不能再次加入" in _messages(user, "group_removed").get().body


def test_leaving_is_not_told(group, member):
    services.leave(membership=member)
    assert not _messages(member.user).exclude(kind="group_welcome").exists()


# --- Constant query counts on the list pages -----------------------------------------------------------


def _applicants(group, n):
    for _i in range(n):
        services.join_via_link(user=UserFactory(), code=InviteLinkFactory(group=group).code, answer="想进群")


@pytest.mark.parametrize("listing", ["applicants", "members", "my_warnings", "appeals"])
def test_list_pages_cost_the_same_for_one_row_and_for_many(group, steward, listing):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group.threshold = Threshold.APPROVAL
    group.save(update_fields=["threshold"])
    operator = OperatorFactory(shop=group.shop, role=OperatorRole.OPERATOR).user
    warned = UserFactory()
    services.add_member(group=group, user=warned, by=shop_owner(group.shop))

    def add_rows(n):
        _applicants(group, n)
        for _i in range(n):
            m = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop))
            enforcement.warn(membership=m, by=steward, rule="不发广告")
        for _i in range(n):
            w = enforcement.warn(
                membership=Membership.objects.get(group=group, user=warned), by=operator, rule="不发广告"
            )
            enforcement.appeal(warning=w, member=warned, text="误会")
            enforcement.decide_appeal(appeal=w.appeal, by=operator, withdraw=True)  # keep them under the count

    client, url = {
        "applicants": (_client(steward), reverse("member:steward_applicants", args=[group.pk])),
        "members": (_client(steward), reverse("member:steward_members", args=[group.pk])),
        "my_warnings": (_client(warned), reverse("member:my_warnings")),
        "appeals": (_client(operator), reverse("dashboard:warning_appeals") + "?state=all"),
    }[listing]
    add_rows(1)
    client.get(url)  # warm: the first request of a session fills per-person caches (unread count…)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    add_rows(5)
    with CaptureQueriesContext(connection) as six:
        response = client.get(url)
    assert response.status_code == 200
    assert len(six) == len(one), [q["sql"] for q in six.captured_queries]
