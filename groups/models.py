"""Groups (社群), group series (群活码), memberships and invite links.

Invariants the database holds for us (services rely on them, never on check-then-act):
- a group's active member count never exceeds its capacity and never goes negative;
- one membership row per (group, user), one owner per group;
- an invite link's use count never exceeds its maximum;
- a link points at exactly one of a group or a series.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequn.bounds import MAX_GROUP_SIZE, MAX_LINK_USES
from shops.models import Shop


class Tag(models.Model):
    """A shop's label for groups and members (products bought, big customer…)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("名称"), max_length=30)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="tag_name_unique_per_shop")]

    def __str__(self) -> str:
        return self.name


class Purpose(models.TextChoices):
    SALES = "sales", _("销售")
    BRAND = "brand", _("品宣")


class Threshold(models.TextChoices):
    OPEN = "open", _("自由加入")
    APPROVAL = "approval", _("运营审核")
    PAID = "paid", _("付费入群")
    SUBMISSION = "submission", _("提交作品/回答审核")


class GroupState(models.TextChoices):
    PREPARING = "preparing", _("筹备中")
    RECRUITING = "recruiting", _("招募中")
    ACTIVE = "active", _("活跃")
    COOLING = "cooling", _("冷却")
    ARCHIVED = "archived", _("已归档")


class GroupSettingsFields(models.Model):
    """What a group is set up with; a series keeps the same fields as its template for new groups."""

    purpose = models.CharField(_("目的"), max_length=8, choices=Purpose.choices, default=Purpose.SALES)
    kind = models.CharField(_("类型"), max_length=30, blank=True, help_text=_("如 兴趣、产品、学习、品牌"))
    description = models.TextField(_("介绍"), blank=True)
    rules = models.TextField(_("群规"), blank=True)
    capacity = models.PositiveIntegerField(
        _("容量"), validators=[MinValueValidator(2), MaxValueValidator(MAX_GROUP_SIZE)]
    )
    threshold = models.CharField(_("入群门槛"), max_length=12, choices=Threshold.choices, default=Threshold.OPEN)
    entry_price = models.DecimalField(_("入群费（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    entry_question = models.CharField(_("审核问题/提交要求"), max_length=200, blank=True)
    welcome_message = models.TextField(
        _("入群欢迎语"),
        blank=True,
        max_length=1000,
        help_text=_("成员入群（或申请通过）时收到的消息；留空则不发送。"),
    )

    class Meta:
        abstract = True


class GroupSeries(GroupSettingsFields):
    """群活码: one permanent code; joiners fill groups in order, a new group opens when all are full."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="series")
    name = models.CharField(_("名称"), max_length=60)
    rotation_threshold = models.PositiveIntegerField(
        _("轮换阈值"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GROUP_SIZE)],
        help_text=_("新成员进入第一个人数低于此值的群；全部达到时自动开新群。"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="series", verbose_name=_("标签"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("群系列（活码）")
        verbose_name_plural = _("群系列（活码）")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rotation_threshold__lte=F("capacity")),
                name="series_rotation_within_capacity",
                violation_error_message=_("轮换阈值不能超过群容量。"),
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=2, capacity__lte=MAX_GROUP_SIZE, rotation_threshold__gte=1),
                name="series_sizes_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(threshold="paid") | Q(entry_price__gt=0),
                name="series_paid_entry_has_price",
                violation_error_message=_("付费入群需要设置大于 0 的入群费。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Group(GroupSettingsFields):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="groups")
    series = models.ForeignKey(
        GroupSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="groups", verbose_name=_("系列")
    )
    number_in_series = models.PositiveIntegerField(_("系列序号"), null=True, blank=True)
    name = models.CharField(_("群名称"), max_length=60)
    cover = models.ImageField(_("封面"), upload_to="group_covers/%Y/%m/", blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="groups", verbose_name=_("标签"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_groups",
        verbose_name=_("群主"),
    )
    state = models.CharField(_("状态"), max_length=12, choices=GroupState.choices, default=GroupState.PREPARING)
    # Maintained only by groups.services with conditional UPDATEs; the CHECK below is the last word.
    active_member_count = models.PositiveIntegerField(_("成员数"), default=0, editable=False)
    # A recruiting group becomes active at this time (groups.jobs moves it; empty: the operator does).
    planned_start_at = models.DateTimeField(_("计划开营时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("群")
        verbose_name_plural = _("群")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(active_member_count__lte=F("capacity")),
                name="group_members_within_capacity",
                violation_error_message=_("群已满。"),
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=2, capacity__lte=MAX_GROUP_SIZE), name="group_capacity_in_range"
            ),
            models.UniqueConstraint(
                fields=["series", "number_in_series"],
                name="group_number_unique_in_series",
                condition=Q(series__isnull=False),
            ),
            models.CheckConstraint(
                condition=~Q(threshold="paid") | Q(entry_price__gt=0),
                name="group_paid_entry_has_price",
                violation_error_message=_("付费入群需要设置大于 0 的入群费。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.active_member_count, 0)


class GroupTransition(models.Model):
    """A lifecycle move, recorded in the same transaction as the move itself."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(_("原状态"), max_length=12, choices=GroupState.choices)
    to_state = models.CharField(_("新状态"), max_length=12, choices=GroupState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人")
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("群状态变更")
        verbose_name_plural = _("群状态变更")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


class Channel(models.TextChoices):
    """Where a joiner came from: every join records its source channel (and the inviting member, if any)."""

    MEMBER = "member", _("成员邀请")
    OPERATOR = "operator", _("运营邀请")
    POSTER = "poster", _("海报")
    PARCEL_CARD = "parcel_card", _("包裹卡")
    EXISTING_CUSTOMER = "existing_customer", _("老客户")
    PARTNER_GROUP = "partner_group", _("合作群互换")
    OFFLINE = "offline", _("线下")
    SELF_MEDIA = "self_media", _("自媒体")
    SERIES_CODE = "series_code", _("群活码")
    DIRECT = "direct", _("运营直接添加")


def new_link_code() -> str:
    # 16 URL-safe characters = 96 bits of randomness: unguessable, short enough for a QR code.
    return secrets.token_urlsafe(12)


class InviteLink(models.Model):
    """A personal or channel link to a group or a series, with exact use counting."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="invite_links")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="invite_links")
    series = models.ForeignKey(
        GroupSeries, on_delete=models.CASCADE, null=True, blank=True, related_name="invite_links"
    )
    code = models.CharField(_("邀请码"), max_length=32, unique=True, default=new_link_code, editable=False)
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invite_links", verbose_name=_("邀请人")
    )
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices, default=Channel.MEMBER)
    label = models.CharField(_("备注"), max_length=60, blank=True)
    # The one link each person uses to share a group or series ("my invite link").
    is_personal = models.BooleanField(_("个人链接"), default=False)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(
        _("最多使用次数"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LINK_USES)],
    )
    use_count = models.PositiveIntegerField(_("已使用"), default=0, editable=False)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    open_count = models.PositiveIntegerField(_("打开次数"), default=0, editable=False)
    sign_in_count = models.PositiveIntegerField(_("登录次数"), default=0, editable=False)
    join_count = models.PositiveIntegerField(_("加入人数"), default=0, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("邀请链接")
        verbose_name_plural = _("邀请链接")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(group__isnull=False) & Q(series__isnull=True))
                | (Q(group__isnull=True) & Q(series__isnull=False)),
                name="invite_link_one_target",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(use_count__lte=F("max_uses")),
                name="invite_link_uses_within_max",
                violation_error_message=_("邀请链接已用完。"),
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(max_uses__gte=1, max_uses__lte=MAX_LINK_USES),
                name="invite_link_max_uses_in_range",
            ),
            models.UniqueConstraint(
                fields=["inviter", "group"],
                name="one_personal_link_per_group",
                condition=Q(is_personal=True, revoked_at__isnull=True, group__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["inviter", "series"],
                name="one_personal_link_per_series",
                condition=Q(is_personal=True, revoked_at__isnull=True, series__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.target}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("member:landing", args=[self.code])

    @property
    def target(self):
        return self.group if self.group_id else self.series

    @property
    def target_name(self) -> str:
        return self.target.name

    @property
    def public_url(self) -> str:
        return settings.SITE_URL + self.get_absolute_url()


class MemberRole(models.TextChoices):
    OWNER = "owner", _("群主")
    ADMIN = "admin", _("管理员")
    CORE = "core", _("核心成员")
    ACTIVE = "active", _("活跃成员")
    MEMBER = "member", _("普通成员")


class MembershipStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    ACTIVE = "active", _("在群")
    REJECTED = "rejected", _("已拒绝")
    LEFT = "left", _("已退出")
    REMOVED = "removed", _("已移出")
    BANNED = "banned", _("已封禁")


class Membership(models.Model):
    """A person in a group: one row per (group, user), kept through leaving and rejoining."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=8, choices=MemberRole.choices, default=MemberRole.MEMBER)
    status = models.CharField(_("状态"), max_length=8, choices=MembershipStatus.choices)
    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices, default=Channel.DIRECT)
    invite_link = models.ForeignKey(
        InviteLink,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("邀请链接"),
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("邀请人"),
    )
    answer = models.TextField(_("申请回答/提交"), blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="memberships", verbose_name=_("标签"))
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    joined_at = models.DateTimeField(_("入群时间"), null=True, blank=True)
    # Set once, never cleared: tells a re-join from a first join (re-joins bring no referral edge).
    first_joined_at = models.DateTimeField(_("首次入群时间"), null=True, blank=True)
    # The campaign whose share page brought the first join (set by campaigns on member_joined; groups
    # never reads it: a bare id, since campaigns sit above groups).
    campaign_id = models.PositiveBigIntegerField(_("来源活动"), null=True, blank=True)
    left_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    last_active_at = models.DateTimeField(_("最近活跃"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("群成员")
        verbose_name_plural = _("群成员")
        ordering = ["-joined_at", "-pk"]
        indexes = [models.Index(fields=["group", "status"]), models.Index(fields=["user", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="membership_once_per_group"),
            models.UniqueConstraint(
                fields=["group"], name="one_owner_per_group", condition=Q(role="owner", status="active")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.group}"


# --- Automation: activity, lurkers, health, and the shop's settings for the jobs ------------------


class AutomationSettings(models.Model):
    """A shop's settings for the periodic jobs (the field defaults until an operator changes them).

    A shop without a row uses the defaults (`settings_for`); the row is made when an owner saves.
    """

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="automation")
    reminder_lead_days = models.PositiveIntegerField(
        _("复购提醒提前天数"), default=2, help_text=_("在预计复购日前几天发送复购提醒。")
    )
    quiet_days = models.PositiveIntegerField(
        _("冷却判定天数"),
        default=7,
        validators=[MinValueValidator(1)],
        help_text=_("活跃的群连续这么多天活跃度低，自动转为冷却。"),
    )
    quiet_active_percent = models.PositiveIntegerField(
        _("低活跃阈值（%）"), default=5, help_text=_("判定天数内有互动的成员占比低于此值，视为活跃度低。")
    )
    archive_after_days = models.PositiveIntegerField(
        _("冷却后归档天数"),
        default=14,
        validators=[MinValueValidator(1)],
        help_text=_("冷却中的群这么多天仍未恢复活跃，自动归档。"),
    )
    lurker_days = models.PositiveIntegerField(
        _("潜水判定天数"),
        default=14,
        validators=[MinValueValidator(1)],
        help_text=_("成员这么多天没有任何互动，视为潜水。"),
    )
    lurker_follow_up_days = models.PositiveIntegerField(
        _("潜水关怀周期（天）"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("每位潜水成员每个周期至多收到一次私信关怀。"),
    )
    lurker_follow_up_enabled = models.BooleanField(_("自动私信潜水成员"), default=True)
    warnings_before_removal = models.PositiveIntegerField(
        _("警告几次移出"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("成员在一次入群期间累计收到这么多次群规警告，第这么多次警告时自动移出群。"),
    )

    class Meta:
        verbose_name = _("自动化设置")
        verbose_name_plural = _("自动化设置")

    def __str__(self) -> str:
        return str(self.shop)


def automation_settings_for(shop_id: int) -> AutomationSettings:
    """The shop's automation settings, or an unsaved row of defaults."""
    return AutomationSettings.objects.filter(shop_id=shop_id).first() or AutomationSettings(shop_id=shop_id)


class ActivityKind(models.TextChoices):
    JOIN = "join", _("入群")
    ORDER = "order", _("下单")
    CAMPAIGN = "campaign", _("参与活动")
    CHECK_IN = "check_in", _("打卡")
    MESSAGE_RECEIVED = "message_received", _("收到消息")
    MESSAGE_OPENED = "message_opened", _("打开消息")
    SPACE = "space", _("群空间发言")


class VisitKind(models.TextChoices):
    OPENED = "opened", _("打开")
    SIGNED_IN = "signed_in", _("打开后登录")


class LinkVisit(models.Model):
    """An invite link opened, or its opener (signed out then) back signed in: the dated record behind the
    link's open and sign-in counters, for every link, an operator's channel too (referrals record only the
    links of members who may be credited). The analytics funnel's first two steps read it."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(InviteLink, on_delete=models.CASCADE, related_name="visits")
    # The link's group (a series link's visit has none: the group is chosen at the join).
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=VisitKind.choices)
    signed_in = models.BooleanField(_("已登录"), default=False)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("链接访问")
        verbose_name_plural = _("链接访问")
        indexes = [models.Index(fields=["shop", "at"], name="link_visit_shop_at_idx")]

    def __str__(self) -> str:
        return f"{self.link_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class MemberActivity(models.Model):
    """Something a member did in a group: append-only, so "last active" and lurkers are facts, not guesses."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="activities")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_activities")
    kind = models.CharField(_("类型"), max_length=20, choices=ActivityKind.choices)
    ref = models.CharField(_("关联"), max_length=60, blank=True, help_text=_("如 order:42"))
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("成员动态")
        verbose_name_plural = _("成员动态")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["group", "at"]), models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.group_id} {self.kind}"


class LurkerFollowUp(models.Model):
    """The one polite private message a lurker gets in a follow-up period (unique per period)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="lurker_follow_ups")
    # The period's number: days since 2000-01-01 (Shanghai) divided by the shop's period length.
    period = models.PositiveIntegerField(_("周期"))
    sent_at = models.DateTimeField(_("发送时间"), default=timezone.now)
    silent_since = models.DateTimeField(_("最后活跃"), null=True, blank=True)

    class Meta:
        verbose_name = _("潜水关怀")
        verbose_name_plural = _("潜水关怀")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "period"], name="lurker_follow_up_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} #{self.period}"


class GroupHealthSnapshot(models.Model):
    """A group's week (Monday to Monday, Shanghai time), kept so history stays when the group changes."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="health_snapshots")
    week_start = models.DateField(_("周起始（周一）"))
    state = models.CharField(_("状态"), max_length=12, choices=GroupState.choices)
    members = models.PositiveIntegerField(_("成员数"))
    joins = models.PositiveIntegerField(_("入群"))
    leaves = models.PositiveIntegerField(_("退群"))
    active_members = models.PositiveIntegerField(_("活跃成员"))
    orders = models.PositiveIntegerField(_("订单数"))
    gmv = models.DecimalField(_("成交额（元）"), max_digits=14, decimal_places=2)
    repeat_buyers = models.PositiveIntegerField(_("复购人数"))
    taken_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("社群健康快照")
        verbose_name_plural = _("社群健康快照")
        ordering = ["-week_start"]
        constraints = [models.UniqueConstraint(fields=["group", "week_start"], name="health_snapshot_once_per_week")]

    def __str__(self) -> str:
        return f"{self.group_id} {self.week_start}"


# --- 群规 enforcement: warnings and their appeals ---------------------------------------------------


class MemberWarning(models.Model):
    """A warning for breaking the group's rules (群规), by its 群主/管理员 or an operator.

    Counted per stay in the group (since the membership's last join), withdrawn ones excluded; the warning
    that reaches the shop's count removes the member and says so (`removed_member`).
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="warnings")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="warnings")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_warnings", verbose_name=_("成员")
    )
    rule = models.CharField(_("违反的群规"), max_length=200)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("警告人"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    removed_member = models.BooleanField(_("因此移出"), default=False)
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("群规警告")
        verbose_name_plural = _("群规警告")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["membership", "at"]), models.Index(fields=["member", "at"])]

    def __str__(self) -> str:
        return f"{self.member_id}@{self.group_id}: {self.rule}"


class AppealState(models.TextChoices):
    OPEN = "open", _("待处理")
    UPHELD = "upheld", _("维持警告")
    WITHDRAWN = "withdrawn", _("撤销警告")


class WarningAppeal(models.Model):
    """The warned member's appeal, decided by the shop's operators: at most one per warning."""

    warning = models.OneToOneField(MemberWarning, on_delete=models.CASCADE, related_name="appeal")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("申诉理由"), max_length=500)
    state = models.CharField(_("状态"), max_length=10, choices=AppealState.choices, default=AppealState.OPEN)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decision_note = models.CharField(_("处理说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("警告申诉")
        verbose_name_plural = _("警告申诉")
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["shop", "state", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.warning_id} {self.state}"


# The group space (群空间) and the complaints and suggestions box (投诉与建议): their models live in their own
# modules; imported here so Django finds them.
from .feedback_models import Feedback, FeedbackDepartment  # noqa: E402, F401
from .space_models import GroupContact, SpaceComment, SpacePhoto, SpacePost, SpaceSettings  # noqa: E402, F401
