"""Tags from behaviour, segments (人群) and broadcasts (群发).

- `TagRule` makes a shop's tag (groups.Tag) automatic: a periodic job gives it to the members whose behaviour
  matches (bought a product, spent over an amount, repeat buyer, lurker, big customer) and takes it from
  those who no longer match. The result is a `MemberTag` row per (tag, member). Tags operators set on a
  membership by hand stay where they are (groups.Membership.tags); the job never touches them.
- `Segment` is a saved filter over tags and facts (spend, paid orders, last order, groups, join date); its
  members are computed when asked (segments.selectors), never stored.
- `GroupInvitation`: a segment's member invited into a group, once per (group, member).
- `Broadcast` is one marketing message to a group's or a segment's members; `BroadcastRecipient` is each
  member it was decided for, once per (broadcast, member), with the outcome (sent, or the rule that kept it
  from them) and the notification written.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groups.models import Group, InviteLink, Tag
from orders.models import Product
from shops.models import Shop

MAX_AMOUNT = 10_000_000  # yuan: any amount a filter or a rule names stays below this
MAX_DAYS = 3650
MAX_COUNT = 10_000


def _money(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_AMOUNT)],
        **kwargs,
    )


def _days(verbose_name, **kwargs):
    return models.PositiveIntegerField(
        verbose_name, validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)], **kwargs
    )


class RuleKind(models.TextChoices):
    BOUGHT_PRODUCT = "bought_product", _("买过指定商品")
    SPENT_OVER = "spent_over", _("累计消费达到金额")
    REPEAT_BUYER = "repeat_buyer", _("复购会员")
    LURKER = "lurker", _("潜水会员")
    BIG_CUSTOMER = "big_customer", _("大客户")


class TagRule(models.Model):
    """What gives an automatic tag: one rule per tag, its parameters by kind (a CHECK per kind)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="tag_rules")
    tag = models.OneToOneField(Tag, on_delete=models.CASCADE, related_name="rule", verbose_name=_("标签"))
    kind = models.CharField(_("规则"), max_length=20, choices=RuleKind.choices)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("商品")
    )
    amount = _money(_("金额（元）"), null=True, blank=True)
    count = models.PositiveIntegerField(
        _("订单数"), null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(MAX_COUNT)]
    )
    days = _days(_("天数"), null=True, blank=True)
    percent = models.PositiveSmallIntegerField(
        _("消费前百分比"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    computed_at = models.DateTimeField(_("最近计算"), null=True, blank=True)
    members = models.PositiveIntegerField(_("会员数"), default=0)

    class Meta:
        verbose_name = _("自动标签规则")
        verbose_name_plural = _("自动标签规则")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="bought_product") | Q(product__isnull=False),
                name="tag_rule_product_names_product",
            ),
            models.CheckConstraint(
                condition=~Q(kind="spent_over") | Q(amount__gt=0), name="tag_rule_spent_names_amount"
            ),
            models.CheckConstraint(
                condition=~Q(kind="repeat_buyer") | Q(count__gte=2), name="tag_rule_repeat_names_count"
            ),
            models.CheckConstraint(condition=~Q(kind="lurker") | Q(days__gte=1), name="tag_rule_lurker_names_days"),
            models.CheckConstraint(
                condition=~Q(kind="big_customer") | Q(percent__gte=1, percent__lte=50),
                name="tag_rule_big_names_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tag} ({self.get_kind_display()})"


class MemberTag(models.Model):
    """An automatic tag a member holds now (written and removed by the job only)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="member_tags")
    rule = models.ForeignKey(TagRule, on_delete=models.CASCADE, related_name="member_tags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auto_tags")
    tagged_at = models.DateTimeField(_("打标时间"), default=timezone.now)

    class Meta:
        verbose_name = _("会员自动标签")
        verbose_name_plural = _("会员自动标签")
        constraints = [models.UniqueConstraint(fields=["tag", "user"], name="member_tag_once")]
        indexes = [models.Index(fields=["user", "tag"], name="member_tag_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.tag_id}"


class Segment(models.Model):
    """A saved filter over the shop's members (those in one of its groups now). Empty fields filter nothing."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("名称"), max_length=40)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("带任一标签"))
    exclude_tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("排除标签"))
    groups = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name=_("在任一群"))
    min_spent = _money(_("累计消费至少（元）"), null=True, blank=True)
    max_spent = _money(_("累计消费至多（元）"), null=True, blank=True)
    min_orders = models.PositiveIntegerField(
        _("订单数至少"), null=True, blank=True, validators=[MaxValueValidator(MAX_COUNT)]
    )
    max_orders = models.PositiveIntegerField(
        _("订单数至多"), null=True, blank=True, validators=[MaxValueValidator(MAX_COUNT)]
    )
    ordered_within_days = _days(_("最近几天内下过单"), null=True, blank=True)
    not_ordered_for_days = _days(_("超过几天未下单"), null=True, blank=True)
    joined_within_days = _days(_("最近几天内入群"), null=True, blank=True)
    joined_before_days = _days(_("入群超过几天"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("人群")
        verbose_name_plural = _("人群")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="segment_name_unique_per_shop"),
            models.CheckConstraint(
                condition=Q(min_spent__isnull=True)
                | Q(max_spent__isnull=True)
                | Q(min_spent__lte=models.F("max_spent")),
                name="segment_spent_range",
            ),
            models.CheckConstraint(
                condition=Q(min_orders__isnull=True)
                | Q(max_orders__isnull=True)
                | Q(min_orders__lte=models.F("max_orders")),
                name="segment_orders_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GroupInvitation(models.Model):
    """A member invited into a group from a segment: once per (group, member), whatever segment asks again."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="segment_invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey(Segment, on_delete=models.SET_NULL, null=True, related_name="invitations")
    link = models.ForeignKey(InviteLink, on_delete=models.CASCADE, related_name="+")
    notification_id = models.BigIntegerField(null=True, blank=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    invited_at = models.DateTimeField(_("邀请时间"), default=timezone.now)

    class Meta:
        verbose_name = _("人群入群邀请")
        verbose_name_plural = _("人群入群邀请")
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="group_invitation_once")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.group_id}"


class BroadcastState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")


class Broadcast(models.Model):
    """One marketing message to the members of a group or of a segment (exactly one of the two)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="broadcasts")
    # RESTRICT: the history stays while its group or segment does; the shop's deletion takes all of them.
    group = models.ForeignKey(
        Group, on_delete=models.RESTRICT, null=True, blank=True, related_name="+", verbose_name=_("群")
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.RESTRICT, null=True, blank=True, related_name="broadcasts", verbose_name=_("人群")
    )
    title = models.CharField(_("标题"), max_length=60)
    body = models.TextField(_("内容"), max_length=500)
    state = models.CharField(_("状态"), max_length=10, choices=BroadcastState.choices, default=BroadcastState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    # What the send decided, counted as each batch commits (their sum is the audience at the send).
    sent_count = models.PositiveIntegerField(_("已发送"), default=0)
    opted_out_count = models.PositiveIntegerField(_("已退订"), default=0)
    after_sales_count = models.PositiveIntegerField(_("售后中"), default=0)
    quiet_hours_count = models.PositiveIntegerField(_("免打扰时段"), default=0)
    capped_count = models.PositiveIntegerField(_("已达频次上限"), default=0)

    class Meta:
        verbose_name = _("群发")
        verbose_name_plural = _("群发")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, segment__isnull=True) | Q(group__isnull=True, segment__isnull=False),
                name="broadcast_one_audience",
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="broadcast_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audience(self):
        return self.group or self.segment

    @property
    def excluded_count(self) -> int:
        return self.opted_out_count + self.after_sales_count + self.quiet_hours_count + self.capped_count


class RecipientOutcome(models.TextChoices):
    SENT = "send", _("已发送")
    OPTED_OUT = "opted_out", _("已退订")
    AFTER_SALES = "after_sales", _("售后中")
    QUIET_HOURS = "quiet_hours", _("免打扰时段")
    CAPPED = "capped", _("已达频次上限")


class BroadcastRecipient(models.Model):
    """A member a broadcast was decided for: at most one row, so one message, per (broadcast, member)."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(_("结果"), max_length=12, choices=RecipientOutcome.choices)
    notification_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("群发对象")
        verbose_name_plural = _("群发对象")
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "user"], name="broadcast_recipient_once"),
            models.CheckConstraint(
                condition=Q(outcome="send", notification_id__isnull=False) | ~Q(outcome="send"),
                name="broadcast_recipient_sent_has_message",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.broadcast_id}:{self.user_id} {self.outcome}"
