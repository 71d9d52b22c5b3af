"""Writes for shops: creation, staff and settings. Each runs in one transaction."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from shequn import hooks
from shequn.bounds import MAX_COUPON_NOTICE_HOURS, MAX_JOIN_WINDOW_HOURS, MAX_NEAR_FLOOR_PERCENT

from . import audit
from .models import Operator, OperatorRole, Shop, ShopSettings

SETTINGS_FIELDS = (
    "group_hard_cap",
    "default_group_capacity",
    "default_rotation_threshold",
    "payment_timeout_minutes",
    "bargain_pay_within_minutes",
    "sms_sign_name",
    "campaign_join_window_hours",
    "bargain_near_floor_percent",
    "coupon_expiry_notice_hours",
)


@transaction.atomic
def create_shop(*, name: str, slug: str, owner: User) -> Shop:
    """A shop with its settings row and its first owner, all or nothing."""
    shop = Shop.objects.create(name=name, slug=slug)
    ShopSettings.objects.create(shop=shop)
    Operator.objects.create(shop=shop, user=owner, role=OperatorRole.OWNER)
    return shop


def _optional_errors(optional: dict) -> dict:
    """The bounds of the settings left as they are when not given (each checked only when given)."""
    bounds = {
        "payment_timeout_minutes": (1, 7 * 24 * 60, _("付款时限须在 1 分钟到 7 天之间。")),
        "bargain_pay_within_minutes": (5, 30 * 24 * 60, _("砍价付款期限须在 5 分钟到 30 天之间。")),
        "campaign_join_window_hours": (1, MAX_JOIN_WINDOW_HOURS, _("活动入群归因时限须在 1 小时到 30 天之间。")),
        "bargain_near_floor_percent": (0, MAX_NEAR_FLOOR_PERCENT, _("砍价接近底价提醒须为 0 到 50 之间的百分数。")),
        "coupon_expiry_notice_hours": (1, MAX_COUPON_NOTICE_HOURS, _("优惠券到期提醒须提前 1 小时到 7 天。")),
    }
    return {
        name: message
        for name, (least, most, message) in bounds.items()
        if optional.get(name) is not None and not least <= optional[name] <= most
    }


@transaction.atomic
def update_shop_settings(
    *,
    shop: Shop,
    by: User,
    group_hard_cap: int,
    default_group_capacity: int,
    default_rotation_threshold: int,
    payment_timeout_minutes: int | None = None,
    bargain_pay_within_minutes: int | None = None,
    sms_sign_name: str | None = None,
    campaign_join_window_hours: int | None = None,
    bargain_near_floor_percent: int | None = None,
    coupon_expiry_notice_hours: int | None = None,
) -> ShopSettings:
    """Refuses a hard cap below any existing group's capacity: no group may sit above the cap.
    The time limits, the campaign join window, the campaign messages' thresholds and the SMS signature are
    left as they are when not given."""
    optional = {
        "payment_timeout_minutes": payment_timeout_minutes,
        "bargain_pay_within_minutes": bargain_pay_within_minutes,
        "campaign_join_window_hours": campaign_join_window_hours,
        "bargain_near_floor_percent": bargain_near_floor_percent,
        "coupon_expiry_notice_hours": coupon_expiry_notice_hours,
    }
    settings_row = ShopSettings.objects.select_for_update().get(shop=shop)
    before = audit.snapshot(settings_row, SETTINGS_FIELDS)
    errors = {}
    if default_group_capacity > group_hard_cap:
        errors["default_group_capacity"] = _("默认群容量不能超过群人数上限。")
    if default_rotation_threshold > group_hard_cap:
        errors["default_rotation_threshold"] = _("默认轮换阈值不能超过群人数上限。")
    refusal = hooks.hard_cap_refusal.first(shop, group_hard_cap)  # groups: no group may sit above the cap
    if refusal:
        errors["group_hard_cap"] = refusal
    errors.update(_optional_errors(optional))
    if sms_sign_name and not 2 <= len(sms_sign_name.strip()) <= 20:
        errors["sms_sign_name"] = _("短信签名为 2–20 个字。")
    if errors:
        raise ValidationError(errors)
    if sms_sign_name is not None:
        settings_row.sms_sign_name = sms_sign_name.strip()
    for name, value in optional.items():
        if value is not None:
            setattr(settings_row, name, value)
    settings_row.group_hard_cap = group_hard_cap
    settings_row.default_group_capacity = default_group_capacity
    settings_row.default_rotation_threshold = default_rotation_threshold
    settings_row.save()
    audit.record(
        shop=shop,
        by=by,
        action="shop.settings.update",
        target=settings_row,
        before=before,
        after=audit.snapshot(settings_row, SETTINGS_FIELDS),
        label=shop.name,
    )
    return settings_row


@transaction.atomic
def add_operator(*, shop: Shop, by: User, email: str, role: str, display_name: str = "") -> Operator:
    """Give a user (found or created by e-mail) a seat on the shop's staff."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(username=email, email=email, display_name=display_name)
        user.set_unusable_password()  # they set one through "forgot password"
        user.save(update_fields=["password"])
    if Operator.objects.filter(shop=shop, user=user).exists():
        raise ValidationError({"email": _("此用户已是本店运营人员。")})
    seat = Operator.objects.create(shop=shop, user=user, role=role)
    audit.record(shop=shop, by=by, action="shop.operator.add", target=seat, after={"user": user.pk, "role": role})
    return seat


@transaction.atomic
def change_operator_role(*, operator: Operator, by: User, role: str) -> Operator:
    """A shop always keeps at least one owner."""
    seat = Operator.objects.select_for_update().get(pk=operator.pk)
    if seat.role == OperatorRole.OWNER and role != OperatorRole.OWNER:
        _ensure_another_owner(seat)
    before = seat.role
    seat.role = role
    seat.save(update_fields=["role"])
    audit.record(
        shop=seat.shop_id,
        by=by,
        action="shop.operator.role",
        target=seat,
        before={"role": before},
        after={"role": role},
        label=_operator_label(seat),
    )
    return seat


@transaction.atomic
def remove_operator(*, operator: Operator, by: User) -> None:
    seat = Operator.objects.select_for_update().get(pk=operator.pk)
    if seat.role == OperatorRole.OWNER:
        _ensure_another_owner(seat)
    audit.record(
        shop=seat.shop_id,
        by=by,
        action="shop.operator.remove",
        target=seat,
        before={"user": seat.user_id, "role": seat.role},
        label=_operator_label(seat),
    )
    seat.delete()


def _operator_label(seat: Operator) -> str:
    return seat.user.public_name


def _ensure_another_owner(seat: Operator) -> None:
    owners = Operator.objects.select_for_update().filter(shop_id=seat.shop_id, role=OperatorRole.OWNER)
    if owners.exclude(pk=seat.pk).count() == 0:
        raise ValidationError(_("店铺至少需要一位店主。"))
