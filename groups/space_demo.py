"""The demo shop's group space and complaints box: in its busiest active group a pinned announcement, members'
posts (one by a core member) with replies, a question an admin answered within the shop's target, and a
complaint routed to 售后部 and answered. Called by seed_demo after the groups have their members and roles."""

from datetime import datetime, timedelta

from . import feedback, space
from .models import Group, GroupState, MemberRole, Membership, MembershipStatus
from .space_models import PostKind, SpaceComment, SpacePost


def _backdate(post: SpacePost, at: datetime) -> None:
    SpacePost.objects.filter(pk=post.pk).update(created_at=at)


def _backdate_reply(comment: SpaceComment, at: datetime) -> None:
    SpaceComment.objects.filter(pk=comment.pk).update(created_at=at)
    SpacePost.objects.filter(pk=comment.post_id, first_responder_id=comment.author_id).update(first_reply_at=at)


def seed_space(*, shop, staff, now: datetime) -> Group | None:
    group = Group.objects.filter(shop=shop, state=GroupState.ACTIVE).order_by("-active_member_count", "pk").first()
    if group is None:
        return None
    active = Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE).select_related("user")
    by_role: dict[str, list] = {}
    for membership in active.order_by("pk"):
        by_role.setdefault(membership.role, []).append(membership.user)
    members = by_role.get(MemberRole.MEMBER, []) + by_role.get(MemberRole.ACTIVE, [])
    admins, core = by_role.get(MemberRole.ADMIN, []), by_role.get(MemberRole.CORE, [])
    if len(members) < 3 or not admins:
        return None
    operator = space.Actor(staff, as_operator=True)

    notice = space.create_post(
        group=group,
        actor=operator,
        kind=PostKind.ANNOUNCEMENT,
        body="本周六晚 8 点群内微课：「宝宝辅食怎么添」，欢迎带着问题来。群规：不发广告、不私加好友推销。",
    )
    _backdate(notice, now - timedelta(days=2))

    sharer = core[0] if core else members[0]
    shared = space.create_post(
        group=group,
        actor=space.Actor(sharer),
        kind=PostKind.POST,
        body="分享：南瓜小米糊，8 个月宝宝很爱吃。小米先泡 2 小时，南瓜蒸熟压泥，一起煮 20 分钟。",
    )
    _backdate(shared, now - timedelta(days=1, hours=5))
    thanks = space.add_comment(post=shared, actor=space.Actor(members[1]), body="收藏了，明天就做！")
    _backdate_reply(thanks, now - timedelta(days=1, hours=4))

    question = space.create_post(
        group=group, actor=space.Actor(members[0]), kind=PostKind.QUESTION, body="宝宝 7 个月，米粉可以加蛋黄吗？"
    )
    asked = now - timedelta(hours=6)
    _backdate(question, asked)
    answer = space.add_comment(
        post=question, actor=space.Actor(admins[0]), body="可以，先从 1/4 个蛋黄开始，观察三天有没有过敏。"
    )
    _backdate_reply(answer, asked + timedelta(minutes=3))
    space.mark_answered(post=question, actor=space.Actor(members[0]))

    waiting = space.create_post(
        group=group, actor=space.Actor(members[2]), kind=PostKind.QUESTION, body="周六微课有回放吗？"
    )
    _backdate(waiting, now - timedelta(minutes=40))

    department = feedback.create_department(shop_id=shop.pk, by=staff, name="售后部")
    feedback.create_department(shop_id=shop.pk, by=staff, name="物流部")
    complaint = feedback.submit(
        group=group, member=members[1], kind="complaint", body="上周的辅食礼盒外箱压坏了，一罐米粉漏了。"
    )
    feedback.route(item=complaint, by=staff, department=department)
    feedback.answer(item=complaint, by=staff, text="抱歉！已为你补发一罐米粉，明天送到自提点。")
    feedback.submit(group=group, member=members[2], kind="suggestion", body="希望多开几次线上微课。")
    return group
