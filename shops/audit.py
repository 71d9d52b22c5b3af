"""The shop's audit log: every operator write records who changed what, before and after.

Rules:
- `record` is called by the write service itself, inside its transaction (it refuses to run outside
  one), so the entry commits with the change and rolls back with it;
- an entry keeps only the fields that changed, as JSON (money and times as strings, related objects by
  id); secrets are never passed in, only the names of the fields that changed;
- the action is one of the stable codes in ACTIONS: the log is filtered and shown by these codes, so a
  code is never renamed, only added.
"""

import json
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _

from shequn import hooks

from .models import AuditEntry, Shop

# code -> what the dashboard shows. Codes are stable: entries already written keep them.
ACTIONS = {
    "shop.settings.update": _("修改店铺设置"),
    "shop.operator.add": _("添加运营人员"),
    "shop.operator.role": _("修改运营人员角色"),
    "shop.operator.remove": _("移除运营人员"),
    "payments.account.save": _("修改收款账户"),
    "catalog.product.create": _("新建商品"),
    "catalog.product.update": _("修改商品"),
    "catalog.product.image": _("添加商品图片"),
    "catalog.sku.create": _("新建规格"),
    "catalog.sku.update": _("修改规格或价格"),
    "catalog.stock.adjust": _("调整库存"),
    "catalog.pickup_point.create": _("新建自提点"),
    "catalog.pickup_point.update": _("修改自提点"),
    "order.cancel": _("取消订单"),
    "order.ship": _("发货"),
    "order.refund.approve": _("同意退款"),
    "order.refund.reject": _("拒绝退款"),
    "order.refund": _("主动退款"),
    "order.refund.part": _("部分退款"),
    "order.case.close": _("处理售后"),
    "fulfilment.hand_over": _("交付物品"),
    "referrals.settings.update": _("修改推荐设置"),
    "referrals.binding_rule.set": _("设置活动绑定规则"),
    "referrals.reward_rule.create": _("新建奖励规则"),
    "referrals.reward_rule.update": _("修改奖励规则"),
    "referrals.reward_rule.deactivate": _("停用奖励规则"),
    "referrals.steward_rule.create": _("新建群管奖励规则"),
    "referrals.steward_rule.update": _("修改群管奖励规则"),
    "referrals.steward_rule.deactivate": _("停用群管奖励规则"),
    "referrals.withdrawal.approve": _("批准提现"),
    "referrals.withdrawal.reject": _("拒绝提现"),
    "referrals.withdrawal.paid": _("标记提现已打款"),
    "fraud.settings.update": _("修改风控设置"),
    "fraud.flag.confirm": _("确认风险标记"),
    "fraud.flag.clear": _("放行风险标记"),
    "notifications.settings.update": _("修改消息设置"),
    "notifications.delivery.retry": _("重试发送失败的消息"),
    "groups.automation.update": _("修改自动化设置"),
    "playbook.create": _("新建培育剧本"),
    "playbook.update": _("修改培育剧本"),
    "playbook.delete": _("删除培育剧本"),
    "playbook.step.save": _("保存剧本步骤"),
    "playbook.step.delete": _("删除剧本步骤"),
    "playbook.assign": _("给群安排培育剧本"),
    "playbook.step.done": _("完成培育任务"),
    "playbook.step.skip": _("跳过培育步骤"),
    "playbook.step.reschedule": _("培育步骤改期"),
    "group.create": _("新建群"),
    "group.update": _("修改群"),
    "group.transition": _("变更群状态"),
    "group.series.create": _("新建群活码"),
    "group.link.create": _("新建邀请链接"),
    "group.link.revoke": _("撤销邀请链接"),
    "group.member.add": _("添加成员"),
    "group.member.approve": _("通过入群申请"),
    "group.member.reject": _("拒绝入群申请"),
    "group.member.remove": _("移出成员"),
    "group.member.ban": _("拉黑成员"),
    "group.member.unban": _("解除拉黑"),
    "group.member.role": _("修改成员角色"),
    "group.member.tags": _("修改成员标签"),
    "group.member.warn": _("群规警告"),
    "group.warning.appeal.decide": _("处理警告申诉"),
    "group.space.announce": _("发布群公告"),
    "group.space.reply": _("回复群空间帖子"),
    "group.space.answered": _("标记提问已解决"),
    "group.space.hide": _("隐藏群空间帖子"),
    "group.space.restore": _("恢复群空间帖子"),
    "group.space.comment.hide": _("隐藏群空间回复"),
    "group.space.comment.restore": _("恢复群空间回复"),
    "group.space.contact": _("设置微信群二维码与客服"),
    "group.space.settings": _("修改群空间设置"),
    "group.feedback.route": _("投诉建议转部门"),
    "group.feedback.answer": _("答复投诉建议"),
    "group.feedback.close": _("关闭投诉建议"),
    "group.feedback.department.create": _("新建处理部门"),
    "group.feedback.department.update": _("启用或停用处理部门"),
    "campaign.create": _("新建活动"),
    "campaign.update": _("修改活动"),
    "campaign.schedule": _("排期活动"),
    "campaign.launch": _("上线活动"),
    "campaign.unschedule": _("撤回活动排期"),
    "campaign.cancel": _("取消活动"),
    "campaign.checkin.hide": _("隐藏打卡"),
    "campaign.checkin.show": _("恢复显示打卡"),
    "campaign.swap.hide": _("隐藏换物"),
    "campaign.swap.show": _("恢复显示换物"),
    "campaign.swap.ban": _("移出换物"),
    "campaign.swap.report": _("处理换物举报"),
    "campaign.swap.resolve": _("处理换物争议"),
    "campaign.contest.settle": _("结算排行榜比赛"),
    "campaign.contest.prize.release": _("审核通过并发放比赛奖品"),
    "campaign.contest.prize.withhold": _("不予发放比赛奖品"),
    "campaign.contest.prize.retry": _("重新发放比赛奖品"),
    "segments.tag_rule.create": _("新建自动标签"),
    "segments.tag_rule.update": _("修改自动标签"),
    "segments.segment.create": _("新建人群"),
    "segments.segment.update": _("修改人群"),
    "segments.segment.invite": _("邀请人群入群"),
    "segments.broadcast.create": _("新建群发"),
    "segments.broadcast.send": _("发送群发"),
}


def plain(value: Any) -> Any:
    """A JSON value for a field's value: money and times as strings, related objects and files by name."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named concrete fields of `instance` as JSON values (a foreign key by its id)."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        values[name] = plain(getattr(instance, field.attname))
    return values


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what differs: the keys whose value changed (or appeared, or went), from each side."""
    before, after = plain(before), plain(after)
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k) or (k in before) != (k in after)]
    return {k: before[k] for k in keys if k in before}, {k: after[k] for k in keys if k in after}


def record(
    *,
    shop: Shop | int,
    by,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    label: str = "",
) -> AuditEntry:
    """Write one audit entry for a change `by` made to `target`, inside the change's transaction.

    `before` and `after` are the fields' values around the change (snapshots, or just the fields the
    service sets); only the ones that differ are kept. A creation has no `before`, a deletion no `after`.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to shops.audit.ACTIONS")
    if not connection.in_atomic_block:
        raise RuntimeError("shops.audit.record runs inside the change's transaction")
    if target.pk is None:
        raise ValueError("record the change after the target is saved")
    old, new = changes(before or {}, after or {})
    return AuditEntry.objects.create(
        shop_id=shop if isinstance(shop, int) else shop.pk,
        actor=by,
        actor_name=(by.public_name if by is not None else "")[:150],
        action=action,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=target.pk,
        target_label=(label or str(target))[:200],
        before=old,
        after=new,
    )


# --- Showing entries ------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return str(_("是"))
    if value is False:
        return str(_("否"))
    if isinstance(value, list):
        return "、".join(_shown(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _choice_words(model, key: str) -> dict:
    """A model field's stored choice values → their words ({} for a field without choices)."""
    try:
        field = model._meta.get_field(key) if model else None
    except FieldDoesNotExist:
        return {}
    return {value: str(words) for value, words in (getattr(field, "flatchoices", None) or [])}


def _field_label(model, key: str) -> str:
    try:
        return str(model._meta.get_field(key).verbose_name) if model else key
    except FieldDoesNotExist:
        return key


def _worded(value: Any, words: dict) -> str:
    return words.get(value, _shown(value)) if isinstance(value, str | int) else _shown(value)


def change_rows(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field the entry names: the field by its verbose name, a choice by its
    words, and a JSON field (a campaign's rules) one row per key that changed, by the words the app that owns
    it gives (hooks.audit_value_words), so an operator never reads stored codes."""
    model = entry.target_type.model_class()
    rows = []
    for key in dict.fromkeys([*entry.before, *entry.after]):
        label, old, new = _field_label(model, key), entry.before.get(key), entry.after.get(key)
        if isinstance(old, dict) or isinstance(new, dict):
            rows += _json_rows(model, key, label, old or {}, new or {})
            continue
        words = _choice_words(model, key)
        before = _worded(old, words) if key in entry.before else ""
        after = _worded(new, words) if key in entry.after else ""
        rows.append((label, before, after))
    return rows


def _json_rows(model, key: str, label: str, old: dict, new: dict) -> list[tuple[str, str, str]]:
    described = hooks.audit_value_words.first(model, key) or {}
    rows = []
    for name in dict.fromkeys([*old, *new]):
        if name in old and name in new and old[name] == new[name]:
            continue
        name_label, words = described.get(name, (name, {}))
        before = _worded(old[name], words) if name in old else ""
        after = _worded(new[name], words) if name in new else ""
        rows.append((f"{label} · {name_label}", before, after))
    return rows
