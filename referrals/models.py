"""Referral tracking: who brought whom, every act they did, and what the inviters earned.

Invariants the database holds (services and the leaderboards rely on them):
- one CURRENT edge per (shop, invitee); a moved invitee's earlier edges stay, stamped `superseded_at`;
- nobody refers themself: a CHECK on edges, events and rewards;
- each act is one `ReferralEvent` row under a unique `key`, so a retried or racing request never counts twice;
- each reward once per (shop, invitee, reward kind); a commission balance never goes below zero.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groups.models import Channel, MemberRole
from shequn.bounds import MAX_REWARD_CAP
from shops.models import Shop

ZERO = Decimal("0.00")


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


# --- Rules per shop --------------------------------------------------------------------------------


class BindingRule(models.TextChoices):
    """Which inviter an invitee belongs to when several links reach them."""

    FIRST_BIND = "first_bind", _("首次绑定优先")
    SIGN_UP_ONLY = "sign_up_only", _("仅新客注册时绑定")
    LATEST_WITHIN_WINDOW = "latest_in_window", _("窗口期内最新链接优先")


class QualifyOn(models.TextChoices):
    """What an invitee must do before the referral counts as qualified."""

    PAID_ORDER = "paid_order", _("入群并完成付款订单（未退款）")
    JOINED = "joined", _("入群即合格")


MAX_POINTS_PER_YUAN = 100_000


class ReferralSettings(models.Model):
    """The referral rules of one shop; the field defaults are the rules a shop starts with. Made on first use."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="referral_settings")
    binding_rule = models.CharField(
        _("绑定规则"), max_length=20, choices=BindingRule.choices, default=BindingRule.FIRST_BIND
    )
    binding_window_days = models.PositiveIntegerField(
        _("绑定窗口（天）"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("「窗口期内最新链接优先」：绑定后这些天内，被邀请人通过他人链接入群会改绑给新邀请人。"),
    )
    qualify_on = models.CharField(_("合格条件"), max_length=12, choices=QualifyOn.choices, default=QualifyOn.PAID_ORDER)
    qualifying_min_amount = money_field(
        _("合格订单最低金额（元）"),
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    review_days = models.PositiveIntegerField(
        _("奖励审核期（天）"),
        default=7,
        validators=[MaxValueValidator(90)],
        help_text=_("合格后经过这些天才发放奖励，期间订单退款则奖励撤销。"),
    )
    points_per_yuan = models.PositiveIntegerField(
        _("积分抵扣比例（积分/元）"),
        default=0,
        validators=[MaxValueValidator(MAX_POINTS_PER_YUAN)],
        help_text=_("结账时多少积分抵 1 元；0 表示不能用积分抵扣。"),
    )

    class Meta:
        verbose_name = _("推荐设置")
        verbose_name_plural = _("推荐设置")

    def __str__(self) -> str:
        return str(self.shop)


class CampaignReferralRule(models.Model):
    """A campaign's own binding rule, overriding the shop's for joins that campaign brings."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="campaign_referral_rules")
    campaign_id = models.PositiveBigIntegerField(_("活动"))
    binding_rule = models.CharField(_("绑定规则"), max_length=20, choices=BindingRule.choices)
    binding_window_days = models.PositiveIntegerField(
        _("绑定窗口（天）"), default=7, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )

    class Meta:
        verbose_name = _("活动绑定规则")
        verbose_name_plural = _("活动绑定规则")
        constraints = [models.UniqueConstraint(fields=["shop", "campaign_id"], name="one_binding_rule_per_campaign")]

    def __str__(self) -> str:
        return f"{self.shop} #{self.campaign_id}: {self.binding_rule}"


# --- Edges and events ------------------------------------------------------------------------------


class ReferralEdge(models.Model):
    """Who brought whom to a shop (推荐关系). One CURRENT edge per (shop, invitee).

    Append-only: when a binding rule moves the invitee to a new inviter, the old edge is kept,
    stamped `superseded_at`, with whatever it already earned; the new edge is the current one.
    `qualified_at` is set when the invitee did what the shop counts (default: a paid order not
    refunded), and cleared again if that order is refunded and no other one qualifies.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="referral_edges")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referred_by_edges", verbose_name=_("被邀请人")
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_edges", verbose_name=_("邀请人")
    )
    link = models.ForeignKey(
        "groups.InviteLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_edges",
        verbose_name=_("邀请链接"),
    )
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_edges",
        verbose_name=_("加入的群"),
    )
    channel = models.CharField(_("渠道"), max_length=20)
    campaign_id = models.PositiveBigIntegerField(_("活动"), null=True, blank=True)
    binding_rule = models.CharField(
        _("绑定规则"), max_length=20, choices=BindingRule.choices, default=BindingRule.FIRST_BIND
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    superseded_at = models.DateTimeField(_("改绑时间"), null=True, blank=True)
    superseded_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supersedes",
        verbose_name=_("改绑为"),
    )
    qualified_at = models.DateTimeField(_("合格时间"), null=True, blank=True)
    qualifying_order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="qualified_edges",
        verbose_name=_("合格订单"),
    )

    class Meta:
        verbose_name = _("推荐关系")
        verbose_name_plural = _("推荐关系")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["shop", "inviter"]),
            models.Index(fields=["shop", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "invitee"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_inviter_per_invitee_per_shop",
            ),
            models.CheckConstraint(condition=~Q(invitee=F("inviter")), name="no_self_referral"),
        ]

    def __str__(self) -> str:
        return f"{self.inviter} → {self.invitee} ({self.shop})"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label if self.channel in Channel.values else self.channel


class EventKind(models.TextChoices):
    LINK_OPENED = "link_opened", _("打开链接")
    LINK_SIGNED_IN = "link_signed_in", _("打开后登录")
    JOINED = "joined", _("入群")
    FIRST_ORDER = "first_order", _("首单")
    REPEAT_ORDER = "repeat_order", _("复购")
    QUALIFIED = "qualified", _("合格推荐")
    CAMPAIGN_ACT = "campaign_act", _("活动行为")
    CHECK_IN = "check_in", _("打卡")


class ReferralEvent(models.Model):
    """One act in a referral (推荐事件), credited to `inviter` (the beneficiary). Append-only.

    Kinds: link_opened (invitee null when not signed in), link_signed_in (an opener signed out then came back
    signed in: once per link, person and day), joined (once per shop and invitee: the join
    that made the edge), first_order / repeat_order (a paid order of an invitee; `amount` = the GMV
    brought), qualified (the referral became qualified; at most one live per shop and invitee),
    campaign_act (recorded by campaigns through `services.record_campaign_act`), check_in (a member's own
    day of a check-in campaign, credited to themself: no invitee; `services.record_check_in`).

    `key` is unique per act ("joined:<shop>:<invitee>", "order:<order_id>", …): the row is inserted
    first and a duplicate insert is a no-op, so nothing counts twice. Voiding (fraud review, or a
    refund for order and qualified events) stamps `voided_at`/`voided_by`/`void_reason`; a voided event
    never counts again, including after a board rebuild. Read live events through
    `selectors.live_events()`.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="referral_events")
    kind = models.CharField(_("类型"), max_length=16, choices=EventKind.choices)
    key = models.CharField(_("唯一键"), max_length=120, unique=True)
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="referral_events_credited",
        verbose_name=_("邀请人"),
    )
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="referral_events_done",
        verbose_name=_("被邀请人"),
    )
    edge = models.ForeignKey(
        ReferralEdge,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("推荐关系"),
    )
    link = models.ForeignKey(
        "groups.InviteLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_events",
        verbose_name=_("邀请链接"),
    )
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_events",
        verbose_name=_("群"),
    )
    series = models.ForeignKey(
        "groups.GroupSeries",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_events",
        verbose_name=_("系列"),
    )
    campaign_id = models.PositiveBigIntegerField(_("活动"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=20, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_events",
        verbose_name=_("订单"),
    )
    amount = money_field(_("带来金额"), default=ZERO)
    ip_address = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    device_id = models.CharField(_("设备"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"), default=timezone.now)
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("作废人"),
    )
    void_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("推荐事件")
        verbose_name_plural = _("推荐事件")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["shop", "kind", "occurred_at"], name="referral_event_board_idx"),
            models.Index(fields=["inviter", "kind"], name="referral_event_inviter_idx"),
            models.Index(fields=["shop", "invitee", "kind"], name="referral_event_invitee_idx"),
            models.Index(
                fields=["campaign_id", "kind"],
                name="referral_event_campaign_idx",
                condition=Q(campaign_id__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(invitee__isnull=True) | ~Q(invitee=F("inviter")), name="referral_event_no_self_referral"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="referral_event_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(kind__in=["link_opened", "check_in"]) | Q(invitee__isnull=False),
                name="referral_event_invitee_known_after_open",
            ),
            # The first paid order of an invitee is one act, however many orders race to be it.
            models.UniqueConstraint(
                fields=["shop", "invitee"], condition=Q(kind="first_order"), name="one_first_order_event_per_invitee"
            ),
            models.UniqueConstraint(
                fields=["shop", "invitee"],
                condition=Q(kind="qualified", voided_at__isnull=True),
                name="one_live_qualified_event_per_invitee",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label if self.channel in Channel.values else self.channel


# --- Rewards ---------------------------------------------------------------------------------------


class RewardKind(models.TextChoices):
    POINTS = "points", _("积分")
    COUPON = "coupon", _("优惠券")
    FREE_ITEM = "free_item", _("赠品")
    COMMISSION = "commission", _("佣金")


class CapPeriod(models.TextChoices):
    DAY = "day", _("每天")
    WEEK = "week", _("每周")
    MONTH = "month", _("每月")


class RewardRule(models.Model):
    """What a shop gives an inviter for each qualified referral (奖励规则), one active rule per kind.

    `amount` is points, the coupon's value, or the commission in yuan; `commission_rate` (0–1) adds a
    share of the qualifying order. `cap_count` limits how many rewards of this rule one inviter gets
    per `cap_period` (empty: no cap).
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="reward_rules")
    kind = models.CharField(_("奖励类型"), max_length=12, choices=RewardKind.choices)
    amount = money_field(_("数额"), default=ZERO, validators=[MinValueValidator(ZERO)])
    commission_rate = models.DecimalField(
        _("佣金比例"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("1"))],
        help_text=_("按合格订单金额的比例计佣，如 0.05 表示 5%。"),
    )
    label = models.CharField(_("名称"), max_length=60, blank=True, help_text=_("如 优惠券或赠品的名称"))
    cap_count = models.PositiveIntegerField(_("每人上限"), null=True, blank=True, validators=[MinValueValidator(1)])
    cap_period = models.CharField(_("上限周期"), max_length=8, choices=CapPeriod.choices, default=CapPeriod.MONTH)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("奖励规则")
        verbose_name_plural = _("奖励规则")
        ordering = ["kind", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind"], condition=Q(is_active=True), name="one_active_reward_rule_per_kind"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="reward_rule_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(commission_rate__isnull=True) | Q(commission_rate__gte=0, commission_rate__lte=1),
                name="reward_rule_rate_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(cap_count__isnull=True) | Q(cap_count__gte=1, cap_count__lte=MAX_REWARD_CAP),
                name="reward_rule_cap_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class RewardStatus(models.TextChoices):
    PENDING = "pending", _("审核期中")
    GRANTED = "granted", _("已发放")
    REVERSED = "reversed", _("已撤销（退款）")
    WITHHELD = "withheld", _("已扣留（风控）")
    CAPPED = "capped", _("超出上限")


# Statuses that hold the one-per-(invitee, kind) slot: a refund-reversed or capped reward frees it.
REWARD_SLOT_STATUSES = (RewardStatus.PENDING, RewardStatus.GRANTED, RewardStatus.WITHHELD)


class Reward(models.Model):
    """One reward an inviter earned for one qualified invitee (推荐奖励).

    pending → granted once `due_at` passes (the review period), → reversed if the qualifying order
    is refunded before that, → withheld if the fraud review voids its events. Once per (shop, invitee,
    kind) among pending/granted/withheld rewards.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="referral_rewards")
    rule = models.ForeignKey(RewardRule, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("规则"))
    kind = models.CharField(_("奖励类型"), max_length=12, choices=RewardKind.choices)
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_rewards", verbose_name=_("获得人")
    )
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("被邀请人")
    )
    edge = models.ForeignKey(ReferralEdge, on_delete=models.CASCADE, related_name="rewards")
    event = models.ForeignKey(
        ReferralEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rewards",
        verbose_name=_("合格事件"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referral_rewards",
        verbose_name=_("合格订单"),
    )
    amount = money_field(_("数额"))
    label = models.CharField(_("名称"), max_length=60, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=RewardStatus.choices, default=RewardStatus.PENDING)
    period_start = models.DateField(_("上限周期起"))
    created_at = models.DateTimeField(_("产生时间"), default=timezone.now)
    due_at = models.DateTimeField(_("发放时间"))
    granted_at = models.DateTimeField(_("已发放时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("撤销/扣留时间"), null=True, blank=True)
    reason = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("推荐奖励")
        verbose_name_plural = _("推荐奖励")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="reward_due_idx"),
            models.Index(fields=["shop", "inviter", "created_at"], name="reward_inviter_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "invitee", "kind"],
                condition=Q(status__in=["pending", "granted", "withheld"]),
                name="one_reward_per_invitee_and_kind",
            ),
            models.CheckConstraint(condition=~Q(invitee=F("inviter")), name="reward_no_self_referral"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="reward_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} → {self.inviter}"


class RewardQuota(models.Model):
    """How many rewards of a rule an inviter holds in one cap period; the cap is one conditional UPDATE."""

    rule = models.ForeignKey(RewardRule, on_delete=models.CASCADE, related_name="quotas")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("奖励额度")
        verbose_name_plural = _("奖励额度")
        constraints = [
            models.UniqueConstraint(fields=["rule", "member", "period_start"], name="one_quota_per_rule_member_period"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.member_id}/{self.period_start}: {self.used}"


# --- Commission money ----------------------------------------------------------------------------


class CommissionAccount(models.Model):
    """A member's commission balance in one shop (佣金账户); the ledger entries add up to it."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="commission_accounts")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="commission_accounts", verbose_name=_("会员")
    )
    balance = money_field(_("可提现余额"), default=ZERO)

    class Meta:
        verbose_name = _("佣金账户")
        verbose_name_plural = _("佣金账户")
        constraints = [
            models.UniqueConstraint(fields=["shop", "member"], name="one_commission_account_per_member"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="commission_balance_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.shop}: {self.balance}"


class EntryKind(models.TextChoices):
    REWARD = "reward", _("推荐佣金")
    WITHDRAWAL = "withdrawal", _("提现")
    WITHDRAWAL_RETURNED = "withdrawal_returned", _("提现退回")


class CommissionEntry(models.Model):
    """One movement of commission money (佣金流水), append-only, once per `key`."""

    account = models.ForeignKey(CommissionAccount, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("类型"), max_length=20, choices=EntryKind.choices)
    amount = money_field(_("金额"))  # positive in, negative out
    balance_after = money_field(_("余额"))
    key = models.CharField(max_length=80, unique=True)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    withdrawal = models.ForeignKey(
        "WithdrawalRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    # Cash a campaign gave outside the referral rewards (a contest's cash prize): campaign ROI counts it.
    campaign_id = models.PositiveBigIntegerField(_("活动"), null=True, blank=True)

    class Meta:
        verbose_name = _("佣金流水")
        verbose_name_plural = _("佣金流水")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="commission_entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


# --- Points (积分) ----------------------------------------------------------------------------------


class PointsAccount(models.Model):
    """A member's referral points in one shop (积分账户); the entries add up to the balance, never below 0."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="points_accounts")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="points_accounts", verbose_name=_("会员")
    )
    balance = models.BigIntegerField(_("积分余额"), default=0)

    class Meta:
        verbose_name = _("积分账户")
        verbose_name_plural = _("积分账户")
        constraints = [
            models.UniqueConstraint(fields=["shop", "member"], name="one_points_account_per_member"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.shop}: {self.balance}"


class PointsEntryKind(models.TextChoices):
    EARN = "earn", _("获得")
    SPEND = "spend", _("抵扣")
    RETURN = "return", _("退回")


class PointsEntry(models.Model):
    """One movement of points (积分流水), append-only, once per `key` (one key per act: a reward, an
    order's spending, its return)."""

    account = models.ForeignKey(PointsAccount, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("类型"), max_length=8, choices=PointsEntryKind.choices)
    points = models.BigIntegerField(_("积分"))  # positive in, negative out
    balance_after = models.BigIntegerField(_("余额"))
    key = models.CharField(max_length=80, unique=True)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries")
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries"
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    # Points a campaign gave (a check-in milestone, a prize, a referral on its share page): campaign ROI counts
    # their worth at the shop's points rate when they were given (0 while points cannot be spent).
    campaign_id = models.PositiveBigIntegerField(_("活动"), null=True, blank=True)
    worth = money_field(_("价值（元）"), default=0)

    class Meta:
        verbose_name = _("积分流水")
        verbose_name_plural = _("积分流水")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="points_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="spend", points__lt=0) | Q(kind__in=["earn", "return"], points__gt=0),
                name="points_entry_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(worth__gte=0), name="points_entry_worth_not_negative"),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="points_entry_earned_idx", condition=Q(kind="earn")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points}"


class WithdrawalStatus(models.TextChoices):
    REQUESTED = "requested", _("待审核")
    APPROVED = "approved", _("已批准，待打款")
    PAID = "paid", _("已打款")
    REJECTED = "rejected", _("已拒绝")


class WithdrawalRequest(models.Model):
    """A member asks for their commission (提现申请); an operator approves and records the payout.

    The amount leaves the balance when requested (so it cannot be spent twice) and comes back if the
    request is rejected. No payout gateway: "paid" records the operator's transfer reference.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="withdrawal_requests")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="withdrawal_requests", verbose_name=_("会员")
    )
    amount = money_field(_("金额"))
    status = models.CharField(
        _("状态"), max_length=10, choices=WithdrawalStatus.choices, default=WithdrawalStatus.REQUESTED
    )
    account_note = models.CharField(_("收款方式"), max_length=120, help_text=_("如 微信号、支付宝账号"))
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.CharField(_("审核说明"), max_length=200, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("打款人"),
    )
    paid_at = models.DateTimeField(_("打款时间"), null=True, blank=True)
    payout_reference = models.CharField(_("打款凭证号"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("提现申请")
        verbose_name_plural = _("提现申请")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["shop", "status", "requested_at"], name="withdrawal_queue_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive"),
            models.UniqueConstraint(
                fields=["shop", "member"],
                condition=Q(status__in=["requested", "approved"]),
                name="one_open_withdrawal_per_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.amount} ({self.status})"


# --- Stewards' rewards (群主 / 群管理) ------------------------------------------------------------


class StewardRole(models.TextChoices):
    """The group roles a shop can reward for their group's sales (the values of groups' MemberRole)."""

    OWNER = MemberRole.OWNER.value, MemberRole.OWNER.label
    ADMIN = MemberRole.ADMIN.value, MemberRole.ADMIN.label


class StewardRewardKind(models.TextChoices):
    COMMISSION = "commission", _("佣金（按订单实付比例）")
    POINTS = "points", _("积分（按每元实付）")


MAX_STEWARD_COMMISSION_PERCENT = Decimal("50.00")
MAX_STEWARD_POINTS_PER_YUAN = Decimal("1000.00")


class StewardRule(models.Model):
    """What a group's 群主 or 群管理 earns on the paid orders of their group (群管奖励), one active rule per role.

    `rate`: for commission, the percent of what the order keeps (2.00 = 2 %); for points, points per yuan.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="steward_rules")
    role = models.CharField(_("群角色"), max_length=8, choices=StewardRole.choices)
    kind = models.CharField(_("奖励类型"), max_length=12, choices=StewardRewardKind.choices)
    rate = models.DecimalField(
        _("比例"),
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_STEWARD_POINTS_PER_YUAN)],
        help_text=_("佣金：订单实付金额的百分比（2 表示 2%）；积分：每实付 1 元给多少积分。"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("群管奖励规则")
        verbose_name_plural = _("群管奖励规则")
        ordering = ["role", "-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "role"], condition=Q(is_active=True), name="one_active_steward_rule_per_role"
            ),
            models.CheckConstraint(condition=Q(role__in=StewardRole.values), name="steward_rule_role_is_steward"),
            models.CheckConstraint(
                condition=Q(kind="commission", rate__gt=0, rate__lte=MAX_STEWARD_COMMISSION_PERCENT)
                | Q(kind="points", rate__gt=0, rate__lte=MAX_STEWARD_POINTS_PER_YUAN),
                name="steward_rule_rate_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.get_kind_display()} {self.rate}"


class StewardRewardStatus(models.TextChoices):
    PENDING = "pending", _("审核期中")
    GRANTED = "granted", _("已发放")
    REVERSED = "reversed", _("已撤销")


class StewardReward(models.Model):
    """One steward's reward for one paid order of their group (群管奖励), once per (order, steward).

    pending → granted when `due_at` passes (amount recomputed from what the order keeps then), → reversed
    when the order is refunded in full before that (or keeps nothing at grant time). Granted stays granted.
    `amount` is yuan for commission, points for points.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="steward_rewards")
    rule = models.ForeignKey(StewardRule, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("规则"))
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="steward_rewards", verbose_name=_("群管")
    )
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+", verbose_name=_("群"))
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="steward_rewards", verbose_name=_("订单")
    )
    role = models.CharField(_("群角色"), max_length=8, choices=StewardRole.choices)
    kind = models.CharField(_("奖励类型"), max_length=12, choices=StewardRewardKind.choices)
    amount = money_field(_("数额"))
    status = models.CharField(
        _("状态"), max_length=10, choices=StewardRewardStatus.choices, default=StewardRewardStatus.PENDING
    )
    created_at = models.DateTimeField(_("产生时间"), default=timezone.now)
    due_at = models.DateTimeField(_("发放时间"))
    granted_at = models.DateTimeField(_("已发放时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    reason = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("群管奖励")
        verbose_name_plural = _("群管奖励")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="steward_reward_due_idx"),
            models.Index(fields=["shop", "created_at"], name="steward_reward_shop_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "steward"], name="one_steward_reward_per_order"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="steward_reward_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} → {self.steward}"


# Fraud review's own models (flags, thresholds, self-referral attempts) live beside it.

from .fraud_models import FraudFlag, FraudSettings, SelfReferralAttempt  # noqa: E402, F401
