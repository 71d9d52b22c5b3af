"""换 swaps: members' listings (items to swap or sell second-hand) in a swap campaign's groups, the swaps
(offers) made on them, every move of either, reports, and members removed from a campaign's swaps.

The database holds the rules:
- an item (a listing) is in at most one live agreed swap, as the item asked for or as the item offered:
  agreeing moves both listings from `listed` to `agreed` by one conditional UPDATE each, and partial unique
  indexes on the swap's two items (while the swap is agreed, being handed over or disputed) refuse a
  second live swap of the same item whatever slips past;
- a member has at most one open offer on a listing (partial unique);
- a swap never enters the same state twice (its moves have no cycle), so its moves are unique on
  (swap, to_state): a double tap on 确认交接 records one move;
- a priced offer or listing is never negative; an offer names an item of the offerer's or a price.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign
from groups.hideable import Hideable
from groups.space_models import private_storage

__all__ = [
    "SwapListing",
    "ListingState",
    "Handover",
    "SwapPhoto",
    "Swap",
    "SwapState",
    "SwapMove",
    "SwapReport",
    "ReportState",
    "SwapBan",
]

TITLE_MAX_LENGTH = 60
TEXT_MAX_LENGTH = 1000
WANTED_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 300


class ListingState(models.TextChoices):
    LISTED = "listed", _("可交换")
    AGREED = "agreed", _("已约定")  # in one live agreed swap (as asked for or as offered)
    DONE = "done", _("已换出")
    WITHDRAWN = "withdrawn", _("已下架")
    EXPIRED = "expired", _("已过期")
    REMOVED = "removed", _("已移除")  # its owner was removed from the campaign's swaps


class Handover(models.TextChoices):
    PICKUP = "pickup", _("自提/面交")
    SHIPPING = "shipping", _("邮寄")
    EITHER = "either", _("自提或邮寄")


class SwapListing(Hideable):
    """An item a member lists in one of the campaign's groups: photos, words, what they want in return or a
    price, and how it changes hands. Only the group's members see it (and the parties of a swap on it)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="swap_listings")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+", verbose_name=_("群"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swap_listings", verbose_name=_("发布人")
    )
    title = models.CharField(_("物品名称"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(_("描述"), max_length=TEXT_MAX_LENGTH, blank=True)
    wanted = models.CharField(_("想换什么"), max_length=WANTED_MAX_LENGTH, blank=True)
    price = models.DecimalField(_("转让价（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    handover = models.CharField(_("交付方式"), max_length=10, choices=Handover.choices, default=Handover.PICKUP)
    state = models.CharField(_("状态"), max_length=10, choices=ListingState.choices, default=ListingState.LISTED)
    share_token = models.CharField(_("分享码"), max_length=32, unique=True)
    created_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("到期时间"))

    class Meta:
        verbose_name = _("换物")
        verbose_name_plural = _("换物")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "group", "state"], name="swap_listing_browse_idx"),
            models.Index(fields=["state", "expires_at"], name="swap_listing_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gte=0), name="swap_listing_price_ok"),
            models.CheckConstraint(
                condition=~Q(wanted="") | Q(price__isnull=False), name="swap_listing_wants_something"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SwapPhoto(models.Model):
    """A listing's photo, stored through shequn.images outside /media/ and served to those who may see it."""

    listing = models.ForeignKey(SwapListing, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("照片"), upload_to="swaps/%Y/%m/", storage=private_storage)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("换物照片")
        verbose_name_plural = _("换物照片")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.image.name


class SwapState(models.TextChoices):
    OFFERED = "offered", _("待回应")
    AGREED = "agreed", _("已约定")
    HANDED_ONE = "handed_one", _("一方已交接")
    DONE = "done", _("已完成")
    WITHDRAWN = "withdrawn", _("已撤回")
    DECLINED = "declined", _("已拒绝")
    EXPIRED = "expired", _("已过期")
    DISPUTED = "disputed", _("有争议")
    CANCELLED = "cancelled", _("已取消")  # an operator closed a disputed swap without it happening


# A live agreed swap holds its items: at most one per item (the partial unique indexes below).
HOLDING_STATES = (SwapState.AGREED, SwapState.HANDED_ONE, SwapState.DISPUTED)


class Swap(models.Model):
    """One offer on a listing and, once its owner agrees, the swap between the two members: the offerer gives
    an item of theirs (`offered_listing`) or a price; both confirm the hand-over."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="swaps")
    listing = models.ForeignKey(SwapListing, on_delete=models.CASCADE, related_name="swaps", verbose_name=_("物品"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("物主")
    )
    offerer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swap_offers", verbose_name=_("出价人")
    )
    offered_listing = models.ForeignKey(
        SwapListing,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="offered_in",
        verbose_name=_("用来交换的物品"),
    )
    price = models.DecimalField(_("出价（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    message = models.CharField(_("留言"), max_length=NOTE_MAX_LENGTH, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=SwapState.choices, default=SwapState.OFFERED)
    created_at = models.DateTimeField(_("出价时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("回应期限"))
    agreed_at = models.DateTimeField(_("约定时间"), null=True, blank=True)
    owner_handed_at = models.DateTimeField(_("物主确认交接"), null=True, blank=True)
    offerer_handed_at = models.DateTimeField(_("出价人确认交接"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("交换")
        verbose_name_plural = _("交换")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "expires_at"], name="swap_expiry_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["listing"],
                condition=Q(state__in=HOLDING_STATES),
                name="swap_item_in_one_agreed_swap",
                violation_error_message=_("这件物品已在另一笔约定的交换中。"),
            ),
            models.UniqueConstraint(
                fields=["offered_listing"],
                condition=Q(state__in=HOLDING_STATES),
                name="swap_offered_item_in_one_agreed_swap",
                violation_error_message=_("这件物品已在另一笔约定的交换中。"),
            ),
            models.UniqueConstraint(
                fields=["listing", "offerer"],
                condition=Q(state=SwapState.OFFERED),
                name="swap_one_open_offer_per_member",
                violation_error_message=_("你已经对这件物品出过价了。"),
            ),
            models.CheckConstraint(
                condition=Q(offered_listing__isnull=False) | Q(price__isnull=False), name="swap_offers_something"
            ),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gte=0), name="swap_price_ok"),
            models.CheckConstraint(condition=~Q(owner=models.F("offerer")), name="swap_two_members"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.offerer_id} → {self.owner_id} ({self.state})"

    def party(self, user) -> str | None:
        """ "owner", "offerer" or None: which side of the swap `user` is."""
        user_id = getattr(user, "pk", None)
        if user_id is None:
            return None
        if user_id == self.owner_id:
            return "owner"
        if user_id == self.offerer_id:
            return "offerer"
        return None


class SwapMove(models.Model):
    """One recorded move of a listing or a swap: from which state to which, who made it (None: the expiry
    job) and when. A swap's moves are unique on its target state (its states have no cycle)."""

    listing = models.ForeignKey(SwapListing, on_delete=models.CASCADE, related_name="moves")
    swap = models.ForeignKey(Swap, on_delete=models.CASCADE, null=True, blank=True, related_name="moves")
    # Whose move: the swap's (unique per target state) or the listing's (a listing may be listed again).
    of_swap = models.BooleanField(_("交换的状态"), default=False)
    from_state = models.CharField(_("原状态"), max_length=12, blank=True)
    to_state = models.CharField(_("新状态"), max_length=12)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.CharField(_("说明"), max_length=NOTE_MAX_LENGTH, blank=True)

    class Meta:
        verbose_name = _("换物记录")
        verbose_name_plural = _("换物记录")
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["swap", "to_state"], condition=Q(of_swap=True), name="swap_move_once_per_state"
            ),
            models.CheckConstraint(condition=Q(of_swap=False) | Q(swap__isnull=False), name="swap_move_names_swap"),
        ]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state}"

    @property
    def to_label(self) -> str:
        """The state moved to, in words."""
        states = SwapState if self.of_swap else ListingState
        return str(states(self.to_state).label) if self.to_state in states.values else self.to_state


class ReportState(models.TextChoices):
    OPEN = "open", _("待处理")
    HANDLED = "handled", _("已处理")
    DISMISSED = "dismissed", _("已驳回")


class SwapReport(models.Model):
    """A member's report of a listing or of a member in a swap campaign, for the operators (or the group's
    群主/管理员) to act on."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="swap_reports")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+", verbose_name=_("群"))
    listing = models.ForeignKey(
        SwapListing, on_delete=models.CASCADE, null=True, blank=True, related_name="reports", verbose_name=_("物品")
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("被举报成员")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("举报人")
    )
    reason = models.CharField(_("原因"), max_length=NOTE_MAX_LENGTH)
    state = models.CharField(_("状态"), max_length=10, choices=ReportState.choices, default=ReportState.OPEN)
    created_at = models.DateTimeField(_("举报时间"), default=timezone.now)
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )

    class Meta:
        verbose_name = _("换物举报")
        verbose_name_plural = _("换物举报")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "reporter", "member", "listing"],
                condition=Q(state="open"),
                nulls_distinct=False,
                name="swap_report_once_while_open",
                violation_error_message=_("你已经举报过了，请等待处理。"),
            ),
            models.CheckConstraint(condition=~Q(reporter=models.F("member")), name="swap_report_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.reporter_id} → {self.member_id}: {self.reason[:20]}"


class SwapBan(models.Model):
    """A member removed from a campaign's swaps by an operator: they list and offer no more."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="swap_bans")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("成员")
    )
    reason = models.CharField(_("原因"), max_length=NOTE_MAX_LENGTH)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("操作人")
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("换物禁入")
        verbose_name_plural = _("换物禁入")
        constraints = [models.UniqueConstraint(fields=["campaign", "member"], name="swap_ban_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.member_id}"
