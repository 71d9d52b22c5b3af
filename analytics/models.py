"""Fact tables the analytics pages read (and nothing else): built from the source tables by analytics.facts.

Every row is derived: a day of a shop is always rewritten whole (delete, then insert the aggregate), so a
rebuild of any date range gives the same rows as the incremental job, and a re-run changes nothing.
Money is integer fen. Days and weeks are Asia/Shanghai calendar days; a week starts on Monday.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def counter(verbose_name):
    return models.BigIntegerField(verbose_name, default=0)


class DailyFact(models.Model):
    """One shop's day per group × channel × campaign (每日事实表). Empty dimensions are NULL / "".

    - link opens and signed-in opens (opened signed in, or signed in after opening signed out): every invite
      link's visits (groups' link visits, operators' channels included), and campaign share pages' visits
      (campaigns' visits: the campaign's, in the sharer's group and channel);
    - invitee first orders, qualified referrals: live (not voided) referral events;
    - joins: memberships whose first join fell on the day (channel = the membership's; campaign = the one
      whose share page brought the join);
    - paid orders (first / second / all): orders paid that day, numbered per member in the shop by payment;
      revenue = their totals; the campaign is the order's campaign;
    - refunds: succeeded refunds that day (tier refunds = group-buy tier price differences);
    - invites: referral edges made that day; reward cost: pending or granted commission and free-item rewards
      made that day (a coupon reward is costed by its coupons' discounts, a points reward by its points);
    - active members: distinct members with any activity but a received message that day, per group;
    - campaign acts and new members (distinct new people acting) per campaign; subsidy of its paid orders;
    - gifts: help tasks whose free-item reward was granted that day; gift cost: their worth (the campaign
      SKU's price when granted; nothing when the campaign has no SKU) — also in the subsidy of the free order;
    - free items: units of paid campaign orders placed free (gifts, help rewards, treats) and their subsidy
      (part of the subsidy, the campaign price's discount);
    - coupon discounts: the coupon adjustments of the orders paid that day, the campaign being the one that
      gave the coupon (a check-in milestone, a prize, the referral an invite-both-get coupon rewards) or else
      its template;
    - points cost: points a campaign gave that day, at their worth when given;
    - prizes: items owed that day with no order (a prize bought in), not void, and their worth;
    - cash prizes: commission a campaign credited that day outside the referral rewards (a contest's cash);
    - posts: group-space posts written that day (hidden ones too: they were written).
    """

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("日期"))
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(_("渠道"), max_length=20, blank=True)
    campaign_id = models.PositiveBigIntegerField(_("活动"), null=True, blank=True)
    link_opens = counter(_("打开链接"))
    signed_in_opens = counter(_("登录后打开"))
    joins = counter(_("入群"))
    first_orders = counter(_("首单"))
    second_orders = counter(_("第二单"))
    paid_orders = counter(_("付款订单"))
    revenue_fen = counter(_("成交额（分）"))
    refunds_fen = counter(_("退款（分）"))
    refund_count = counter(_("退款笔数"))
    tier_refunds_fen = counter(_("阶梯价差退款（分）"))
    subsidy_fen = counter(_("活动补贴（分）"))
    reward_cost_fen = counter(_("奖励成本（分）"))
    gifts = counter(_("助力赠品（件）"))
    gift_cost_fen = counter(_("助力赠品成本（分）"))
    coupon_discount_fen = counter(_("优惠券抵扣（分）"))
    free_items = counter(_("免费商品（件）"))
    free_item_cost_fen = counter(_("免费商品成本（分）"))
    points_cost_fen = counter(_("积分奖励成本（分）"))
    prizes = counter(_("实物奖品（件）"))
    prize_cost_fen = counter(_("实物奖品成本（分）"))
    cash_prize_cost_fen = counter(_("现金奖品（分）"))
    invites = counter(_("邀请"))
    qualified_referrals = counter(_("合格推荐"))
    invitee_first_orders = counter(_("被邀请人首单"))
    active_members = counter(_("活跃成员"))
    check_ins = counter(_("打卡"))
    posts = counter(_("群空间发帖"))
    campaign_acts = counter(_("活动参与"))
    new_members = counter(_("活动新成员"))

    class Meta:
        verbose_name = _("每日事实")
        verbose_name_plural = _("每日事实")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "group", "channel", "campaign_id"],
                name="daily_fact_once_per_cell",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=["shop", "campaign_id", "day"], name="daily_fact_campaign_idx"),
            models.Index(fields=["shop", "group", "day"], name="daily_fact_group_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.day} g{self.group_id} {self.channel} c{self.campaign_id}"


class OrderProductFact(models.Model):
    """A paid order's lines of one product (复购事实): who, where, when, the how-many-th order it is of the
    member (in the shop) and of the member for this product, the previous such purchase and the latest
    repeat-purchase reminder sent between the two (reminder attribution)."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("orders.Product", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("日期"))
    paid_at = models.DateTimeField(_("付款时间"))
    member_order_n = models.PositiveIntegerField(_("会员第几单"))
    product_order_n = models.PositiveIntegerField(_("该商品第几单"))
    previous_paid_at = models.DateTimeField(_("上次购买"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("期间的复购提醒"), null=True, blank=True)
    revenue_fen = counter(_("金额（分）"))

    class Meta:
        verbose_name = _("订单商品事实")
        verbose_name_plural = _("订单商品事实")
        constraints = [models.UniqueConstraint(fields=["order", "product"], name="order_product_fact_once")]
        indexes = [models.Index(fields=["shop", "day"], name="order_product_fact_day_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}×{self.product_id}"


class MemberWeekFact(models.Model):
    """A member's week in a group (留存事实): did they first join it, pay an order in it, do anything in it."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(_("周（周一）"))
    joined = models.BooleanField(_("首次入群"), default=False)
    ordered = models.BooleanField(_("付款下单"), default=False)
    active = models.BooleanField(_("有互动"), default=False)

    class Meta:
        verbose_name = _("会员周事实")
        verbose_name_plural = _("会员周事实")
        constraints = [
            models.UniqueConstraint(fields=["group", "member", "week"], name="member_week_fact_once"),
        ]
        indexes = [models.Index(fields=["shop", "week"], name="member_week_fact_week_idx")]

    def __str__(self) -> str:
        return f"{self.member_id}@{self.group_id} {self.week}"


class FactWatermark(models.Model):
    """How far the incremental job has read the source tables' change times (one row per job)."""

    name = models.CharField(max_length=40, primary_key=True)
    changes_until = models.DateTimeField(_("已处理到"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("事实表水位")
        verbose_name_plural = _("事实表水位")

    def __str__(self) -> str:
        return f"{self.name} @ {self.changes_until:%Y-%m-%d %H:%M:%S}"


class RepeatFact(models.Model):
    """Repeat buyers by month ranges, pre-aggregated (复购汇总): for members buying in a scope (the shop, a group,
    a product), how many have their first — and their second — purchase on or after the month `since` in the
    month `month`. Buyers of the months [A, B] are then the sum of `buyers` over since = A and month ≤ B, repeat
    buyers (≥ 2 purchases in those months) the sum of `repeaters`: a fixed number of rows whatever the orders.

    Rows are kept only for `since` at most `facts.REPEAT_MONTHS - 1` months before `month`: the longest range the
    pages ask for."""

    class Scope(models.TextChoices):
        SHOP = "shop", _("全店")
        GROUP = "group", _("群")
        PRODUCT = "product", _("商品")

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices)
    scope_id = models.PositiveBigIntegerField(_("范围编号"))
    since = models.DateField(_("起始月"))
    month = models.DateField(_("月份"))
    buyers = counter(_("首次购买"))
    repeaters = counter(_("第二次购买"))

    class Meta:
        verbose_name = _("复购汇总")
        verbose_name_plural = _("复购汇总")
        constraints = [
            models.UniqueConstraint(fields=["shop", "scope", "scope_id", "since", "month"], name="repeat_fact_once")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_id} {self.since:%Y-%m}→{self.month:%Y-%m}"


class RepeatIntervalFact(models.Model):
    """A product's repeat purchases of a month by whole days (复购间隔分布): `repeat_orders` repeat purchases came
    `days` calendar days after the member's previous purchase of it, `reminded` came within `days` days (rounded
    up) of a repeat-purchase reminder sent between the two. Medians and reminder attribution are read from it."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("orders.Product", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("月份"))
    days = models.IntegerField(_("天数"))
    repeat_orders = counter(_("复购订单"))
    reminded = counter(_("提醒后复购"))

    class Meta:
        verbose_name = _("复购间隔分布")
        verbose_name_plural = _("复购间隔分布")
        constraints = [
            models.UniqueConstraint(fields=["shop", "product", "month", "days"], name="repeat_interval_fact_once")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.month:%Y-%m} {self.days}d"


class CohortFact(models.Model):
    """A cohort's week, pre-aggregated (同期群汇总): of the members whose first join (or first paid order) in the
    shop (`group` empty) or in a group fell in the week `cohort`, how many did anything there in the week `week`,
    paid an order, did something other than receive a message. The cohort's size is `members` in its own week.
    Weeks are kept up to `facts.COHORT_WEEKS` after the cohort's."""

    class Basis(models.TextChoices):
        JOIN = "join", _("入群周")
        FIRST_ORDER = "first_order", _("首单周")

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    basis = models.CharField(_("分组依据"), max_length=12, choices=Basis.choices)
    cohort = models.DateField(_("分组周（周一）"))
    week = models.DateField(_("周（周一）"))
    members = counter(_("在场成员"))
    ordered = counter(_("付款成员"))
    active = counter(_("互动成员"))

    class Meta:
        verbose_name = _("同期群汇总")
        verbose_name_plural = _("同期群汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "group", "basis", "cohort", "week"], name="cohort_fact_once", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"g{self.group_id} {self.basis} {self.cohort}+{self.week}"
