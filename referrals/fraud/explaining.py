"""Flags in plain words for the reviewer."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..fraud_models import FlagKind, FraudFlag


def explain(flag: FraudFlag) -> str:
    """The flag in plain words for the reviewer (computed, so it follows the reader's language)."""
    e = flag.evidence
    name = flag.member.public_name if flag.member_id and flag.member else _("（未知成员）")
    if flag.kind == FlagKind.BURST:
        return _(
            "%(name)s 在 %(day)s 一天内带来 %(count)d 人入群，超过店铺每日上限 %(limit)d 人"
            "（一个人一天最多能加约 20 位好友）。确认后作废超出上限的 %(excess)d 条入群记录。"
        ) % {"name": name, "day": e["day"], "count": e["count"], "limit": e["limit"], "excess": e["count"] - e["limit"]}
    if flag.kind in (FlagKind.SHARED_DEVICE, FlagKind.SHARED_IP):
        what = _("同一台设备") if flag.kind == FlagKind.SHARED_DEVICE else _("同一个 IP 地址")
        return _(
            "%(what)s在 %(minutes)d 分钟内出现了 %(invitees)d 个不同的被邀请账号（上限 %(limit)d 个），"
            "涉及 %(inviters)d 位邀请人，很可能是一人操作多个账号。主要受益人：%(name)s。"
        ) % {
            "what": what,
            "minutes": e["minutes"],
            "invitees": e["invitees"],
            "limit": e["limit"],
            "inviters": e["inviters"],
            "name": name,
        }
    if flag.kind == FlagKind.DORMANT:
        return _(
            "%(name)s 在 %(week)s 这一周带来的 %(joined)d 人中，有 %(count)d 人入群 %(days)d 天后"
            "仍没有任何下单或活动行为，可能是凑数的账号。"
        ) % {"name": name, "week": e["week"], "joined": e["joined"], "count": e["count"], "days": e["days"]}
    if flag.kind == FlagKind.RING:
        chain = " → ".join(e["names"] + e["names"][:1])
        return _("%(chain)s：这些成员互相邀请或互相助力，形成了一个环，是互刷的典型特征。") % {"chain": chain}
    if flag.kind == FlagKind.YOUNG_ACCOUNT:
        return _(
            "%(day)s 有 %(count)d 次活动行为来自 %(accounts)d 个注册不满 %(minutes)d 分钟、"
            "且共用设备或 IP 的新账号，受益人是 %(name)s，疑似临时注册的小号助力。"
        ) % {"day": e["day"], "count": e["count"], "accounts": e["accounts"], "minutes": e["minutes"], "name": name}
    if flag.kind == FlagKind.SELF_REFERRAL and "attempts" in e:
        return _("%(name)s 在 %(day)s 尝试用自己的邀请链接邀请自己 %(attempts)d 次，系统已拒绝并记录。") % {
            "name": name,
            "day": e["day"],
            "attempts": e["attempts"],
        }
    if flag.kind == FlagKind.SELF_REFERRAL:
        return _("被邀请人 %(invitee)s 使用的设备与邀请人 %(name)s 本人用过的设备相同，疑似同一人用小号邀请自己。") % {
            "invitee": e.get("invitee_name", ""),
            "name": name,
        }
    return flag.get_kind_display()
