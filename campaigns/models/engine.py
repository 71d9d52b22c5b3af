"""The campaign engine's data: a campaign (营销活动), its state moves, every act a person did in it and
every order placed through it. The types (拼, 帮, 砍…) keep their own rows in their own modules."""

from decimal import Decimal

from django.conf import settings as django_settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequn.bounds import MAX_CAMPAIGN_NUMBER
from shops.models import Shop

__all__ = [
    "ZERO",
    "CampaignType",
    "CampaignState",
    "Campaign",
    "CampaignTransition",
    "CampaignAct",
    "CampaignVisit",
    "CampaignOrder",
    "money_field",
]

ZERO = Decimal("0.00")


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class CampaignType(models.TextChoices):
    GROUP_BUY = "group_buy", _("拼团")
    HELP = "help", _("助力")
    BARGAIN = "bargain", _("砍价")
    GIVE = "give", _("赠送")
    COUPON = "coupon", _("优惠券")
    CONTEST = "contest", _("排行榜")
    SWAP = "swap", _("换物")
    FLASH_SALE = "flash_sale", _("秒杀")
    CHECKIN = "checkin", _("打卡")


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SCHEDULED = "scheduled", _("已排期")
    RUNNING = "running", _("进行中")
    ENDED = "ended", _("已结束")
    CANCELLED = "cancelled", _("已取消")


class Campaign(models.Model):
    """One growth campaign of a shop. `settings` holds the type's own rules, cleaned by the type
    (`campaigns/types/<code>/kind.py`, validate_settings); the engine holds what every type shares."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="campaigns")
    type = models.CharField(_("类型"), max_length=20, choices=CampaignType.choices)
    name = models.CharField(_("活动名称"), max_length=60)
    state = models.CharField(_("状态"), max_length=10, choices=CampaignState.choices, default=CampaignState.DRAFT)
    starts_at = models.DateTimeField(_("开始时间"))
    # None: open-ended (a type that allows it, CampaignKind.open_ended: check-ins), until an operator ends it.
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    all_groups = models.BooleanField(_("本店所有群"), default=True)
    groups = models.ManyToManyField("groups.Group", blank=True, related_name="campaigns", verbose_name=_("指定群"))
    series = models.ManyToManyField(
        "groups.GroupSeries", blank=True, related_name="campaigns", verbose_name=_("指定群活码")
    )
    product = models.ForeignKey(
        "orders.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("商品"),
    )
    sku = models.ForeignKey(
        "orders.Sku", on_delete=models.PROTECT, null=True, blank=True, related_name="campaigns", verbose_name=_("规格")
    )
    stock_cap = models.PositiveIntegerField(
        _("活动库存上限"), null=True, blank=True, help_text=_("通过本活动最多售出的件数；留空则只受商品库存限制。")
    )
    stock_used = models.PositiveIntegerField(_("已占用活动库存"), default=0, editable=False)
    budget = money_field(
        _("活动预算（元）"), null=True, blank=True, help_text=_("优惠补贴（原价与活动价之差）的总额上限；留空则不限。")
    )
    budget_used = money_field(_("已用预算（元）"), default=ZERO, editable=False)
    per_member_limit = models.PositiveIntegerField(_("每人限参与次数"), null=True, blank=True)
    settings = models.JSONField(_("类型设置"), default=dict, blank=True)
    reward = models.JSONField(_("奖励"), default=dict, blank=True)
    # The landing page, in the field's three parts: the hook and an early call to act, the proof, the call again.
    hook_title = models.CharField(_("主题"), max_length=60, blank=True)
    hook_text = models.TextField(_("诱饵与行动号召"), blank=True)
    proof_text = models.TextField(_("信任证明（证书、买家评价）"), blank=True)
    cta_text = models.CharField(_("行动按钮文字"), max_length=30, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("营销活动")
        verbose_name_plural = _("营销活动")
        ordering = ["-starts_at", "-pk"]
        indexes = [
            models.Index(fields=["shop", "state", "starts_at"]),
            models.Index(fields=["state", "starts_at"]),
            models.Index(fields=["state", "ends_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"
            ),
            # Only check-ins run without an end (CampaignKind.open_ended); every other type's rules need one.
            models.CheckConstraint(
                condition=Q(ends_at__isnull=False) | Q(type="checkin"), name="campaign_open_ended_only_checkin"
            ),
            models.CheckConstraint(
                condition=Q(stock_cap__isnull=True) | Q(stock_used__lte=F("stock_cap")),
                name="campaign_stock_never_above_cap",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget")),
                name="campaign_budget_never_above_cap",
            ),
            models.CheckConstraint(condition=Q(budget_used__gte=0), name="campaign_budget_used_positive"),
            models.CheckConstraint(
                condition=Q(stock_cap__isnull=True) | Q(stock_cap__gte=1, stock_cap__lte=MAX_CAMPAIGN_NUMBER),
                name="campaign_stock_cap_in_range",
            ),
            models.CheckConstraint(
                condition=Q(per_member_limit__isnull=True)
                | Q(per_member_limit__gte=1, per_member_limit__lte=MAX_CAMPAIGN_NUMBER),
                name="campaign_per_member_limit_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("campaigns:landing", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.state == CampaignState.RUNNING

    @property
    def order_source(self) -> str:
        """The `Order.source` of orders placed through this campaign (the orders plug-in dispatches on it)."""
        return f"campaign:{self.pk}"


class CampaignTransition(models.Model):
    """One recorded move of a campaign's state (campaigns.lifecycle)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(_("原状态"), max_length=10, choices=CampaignState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=10, choices=CampaignState.choices)
    by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("活动状态变更")
        verbose_name_plural = _("活动状态变更")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_state} → {self.to_state}"


class CampaignVisit(models.Model):
    """A campaign share link opened (`?by=` a member's genuine token), or its opener, signed out then, back
    signed in: the dated record behind a campaign's first two funnel steps. One open per session and
    campaign; `user` is the visitor when signed in (what a later join is attributed by)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("打开")
        SIGNED_IN = "signed_in", _("登录")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="visits")
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    signed_in = models.BooleanField(_("已登录"), default=False)
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Where the share came from: the sharer's group of the campaign (where a newcomer is sent to join), and
    # the channel (a member's share link). Empty on visits recorded before they were kept.
    group = models.ForeignKey("groups.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    channel = models.CharField(_("渠道"), max_length=20, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("活动分享页访问")
        verbose_name_plural = _("活动分享页访问")
        indexes = [
            models.Index(fields=["shop", "at"], name="campaign_visit_shop_at_idx"),
            models.Index(fields=["user", "at"], name="campaign_visit_user_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class CampaignAct(models.Model):
    """One act of a person in a campaign (参与记录): opening or joining a team, a help, a cut…

    `key` is unique per act (e.g. "team:12:join:34"), inserted first, so a retried or racing request
    counts once. Suspicious acts (a brand-new account, the starter's IP or device) are recorded with
    `flagged` and the reasons for a later fraud review, never silently blocked.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="acts")
    actor = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="campaign_acts",
        verbose_name=_("参与人"),
    )
    inviter = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign_acts_brought",
        verbose_name=_("邀请人"),
    )
    kind = models.CharField(_("行为"), max_length=20)
    key = models.CharField(_("唯一键"), max_length=120, unique=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now)
    new_member = models.BooleanField(_("新成员"), default=False, help_text=_("通过分享链接新来到本店的人。"))
    flagged = models.BooleanField(_("可疑"), default=False)
    flag_reasons = models.JSONField(_("可疑原因"), default=list, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    device = models.CharField(_("设备"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("活动参与记录")
        verbose_name_plural = _("活动参与记录")
        ordering = ["occurred_at", "pk"]
        indexes = [
            models.Index(fields=["campaign", "kind", "occurred_at"]),
            models.Index(fields=["campaign", "actor"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(inviter__isnull=True) | ~Q(inviter=F("actor")), name="campaign_act_not_self_invited"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.kind}: {self.actor_id}"


class CampaignOrder(models.Model):
    """An order placed through a campaign, with what it took from the campaign's stock cap and budget.

    `released_at` is stamped when the order is cancelled or refunded and its units and subsidy went back
    to the campaign: once, whatever retries do.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="campaign_orders")
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="campaign_order")
    member = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaign_orders"
    )
    units = models.PositiveIntegerField(_("件数"))
    unit_price = money_field(_("活动单价"))
    subsidy = money_field(_("补贴"), default=ZERO)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    released_at = models.DateTimeField(_("已退回活动库存"), null=True, blank=True)

    class Meta:
        verbose_name = _("活动订单")
        verbose_name_plural = _("活动订单")
        indexes = [models.Index(fields=["campaign", "member"])]
        constraints = [models.CheckConstraint(condition=Q(subsidy__gte=0), name="campaign_order_subsidy_positive")]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.order_id}"
