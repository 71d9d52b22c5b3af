"""Every URL pattern × every kind of person: who is let in, who is sent to sign in, who is refused, and
to whom shop A's objects do not exist.

The table below has one row per URL pattern (its name, or its route when it has none), grouped by the
policy the pattern follows; a pattern the resolver knows and the table does not fails
`test_every_url_pattern_has_a_row`, so a new page or API cannot ship without saying who may use it.
Each row names the method and the objects of shop A that fill the URL; every person requests it, each
request in a savepoint rolled back afterwards, so a write by one never changes what the next one sees.
"""

import uuid
from dataclasses import dataclass
from datetime import time, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image

from campaigns.models import ContestPrize
from campaigns.types.bargain import kind as bargain
from campaigns.types.checkin import kind as checkin
from campaigns.types.contest import kind as contests
from campaigns.types.help import kind as helping
from campaigns.types.swap import kind as swapping
from groups import feedback as group_feedback
from groups import services as group_services
from groups import space
from groups.models import MemberWarning, Threshold, WarningAppeal
from notifications.models import Delivery, Notification
from orders import fulfilment
from orders.models import PaymentAccount, ReconciliationRun
from orders.services import open_case
from playbooks import services as playbook_services
from referrals.fraud_models import FraudFlag
from referrals.models import RewardRule, WithdrawalRequest
from segments.models import Broadcast, Segment, TagRule
from shops.models import OperatorRole
from tests.builders.campaigns import coupon_template, make_campaign, make_flash_sale, open_team
from tests.builders.orders import DjangoClientTransport, make_buyer, order_for, pay
from tests.campaigns.checkin_support import checkin_campaign
from tests.campaigns.contest_support import contest, end, invites
from tests.campaigns.give_support import give_campaign, paid_gift
from tests.campaigns.social_support import bargain_campaign, help_campaign
from tests.campaigns.swap_support import listing as swap_listing
from tests.campaigns.swap_support import offer as swap_offer
from tests.campaigns.swap_support import swap_campaign
from tests.factories import (
    GroupFactory,
    InviteLinkFactory,
    OperatorFactory,
    PickupPointFactory,
    ShopFactory,
    SkuFactory,
    TagFactory,
    UserFactory,
)

ROLES = ("anonymous", "member", "viewer", "operator", "owner", "other_owner", "admin")

# Outcomes. ALLOWED: let in (2xx; a redirect that is not to a sign-in page; or, for an empty write, the
# form's or the API's refusal of the input: 400/409/422). LOGIN: sent to sign in (a redirect to a sign-in
# page; 401/403 from the API). DENIED: 403. HIDDEN: 404, the object does not exist for this person.
ALLOWED, LOGIN, DENIED, HIDDEN = "allowed", "login", "denied", "hidden"
# Django's admin for staff: past the sign-in, each model's admin then decides (append-only records refuse
# add and delete even to superusers; an id no object has is "not found").
ADMITTED = "admitted"


def outcome_of(response, path: str) -> str:
    status = response.status_code
    location = response.get("Location", "")
    if status in (301, 302, 303, 307, 308) and ("/accounts/login/" in location or "/admin/login/" in location):
        return LOGIN
    if status == 401:
        return LOGIN
    if status == 403:
        return DENIED
    if status == 404:
        return HIDDEN
    if status < 400 or status in (400, 409, 422):
        return ALLOWED
    return f"status {status}"


@dataclass(frozen=True)
class Policy:
    anonymous: str
    member: str
    viewer: str
    operator: str
    owner: str
    other_owner: str
    admin: str

    def expected(self, role: str) -> str:
        return getattr(self, role)


# Column order: anonymous, member, viewer, operator, owner, other shop's owner, platform admin.
# The API answers an anonymous caller 403 (not_authenticated): DENIED there means "sign in first".
PUBLIC = Policy(ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED)
SIGNED_IN = Policy(LOGIN, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED)
MEMBERS_OWN = Policy(LOGIN, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)
API_SIGNED_IN = Policy(DENIED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED)
API_MEMBERS_OWN = Policy(DENIED, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)
SHOP_LIST = Policy(LOGIN, DENIED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, DENIED)
SHOP_OBJECT = Policy(LOGIN, DENIED, ALLOWED, ALLOWED, ALLOWED, HIDDEN, DENIED)
SHOP_WRITE = Policy(LOGIN, DENIED, DENIED, ALLOWED, ALLOWED, ALLOWED, DENIED)
SHOP_OBJECT_WRITE = Policy(LOGIN, DENIED, DENIED, ALLOWED, ALLOWED, HIDDEN, DENIED)
OWNER_WRITE = Policy(LOGIN, DENIED, DENIED, DENIED, ALLOWED, ALLOWED, DENIED)
# A page only owners read (the audit log): another shop's owner is let in to their own shop's page, where
# shop A's entries are not (tests/shops/test_audit_log.py); staff below owner, members and platform admins
# who are no owner are refused.
OWNER_READ = Policy(LOGIN, DENIED, DENIED, DENIED, ALLOWED, ALLOWED, DENIED)
API_SHOP_LIST = Policy(DENIED, DENIED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, DENIED)
API_SHOP_OBJECT = Policy(DENIED, DENIED, ALLOWED, ALLOWED, ALLOWED, HIDDEN, DENIED)
API_SHOP_WRITE = Policy(DENIED, DENIED, DENIED, ALLOWED, ALLOWED, ALLOWED, DENIED)
API_SHOP_OBJECT_WRITE = Policy(DENIED, DENIED, DENIED, ALLOWED, ALLOWED, HIDDEN, DENIED)
PLATFORM = Policy(LOGIN, DENIED, DENIED, DENIED, DENIED, DENIED, ALLOWED)
ADMIN_SITE = Policy(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, ADMITTED)
OWNER_OBJECT_WRITE = Policy(LOGIN, DENIED, DENIED, DENIED, ALLOWED, HIDDEN, DENIED)
SHOP_MEMBERS = Policy(LOGIN, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)  # members of one of the shop's groups
API_SHOP_MEMBERS = Policy(DENIED, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)
STARTER_ONLY = Policy(HIDDEN, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)  # a help or bargain task's own page
SWITCHED_OFF = Policy(HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)  # WeChat sign-in, off unless configured
NOBODY_YET = Policy(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)  # a step of a sign-in flow begun elsewhere


@dataclass(frozen=True)
class Row:
    method: str = "get"
    args: tuple = ()  # keys of the world's objects (their pk; a link's code) or literal strings
    query: str = ""
    data: tuple = ()  # a POST's fields: (name, key of the world's objects or a literal)


def get(*args, query=""):
    return Row("get", args, query)


def post(*args, **data):
    return Row("post", args, data=tuple(data.items()))


def patch(*args):
    return Row("patch", args)


MATRIX: list[tuple[Policy, dict[str, Row]]] = [
    (
        PUBLIC,
        {
            "home": get(),
            "robots.txt": get(),
            "favicon": get(),
            "media": get("matrix.png"),
            "set_language": post(),
            "api-schema": get(),
            "api-docs": get(),
            "member:landing": get("link_code"),
            "campaigns:landing": get("campaign"),
            "campaigns:contest_page": get("contest_campaign"),
            "campaigns:team": get("campaign", "team"),
            "api-link": get("link_code"),
            "orders:provider_notify": post("simulated"),
            "orders:account_notify": post("wechatpay", "payment_account"),
        },
    ),
    (
        SIGNED_IN,
        {
            "profile": get(),
            "member:my_groups": get(),
            "member:join": post("link_code"),
            "member:referrals": get(),
            "member:referral_withdraw": post(),
            "orders:my_orders": get(),
            "campaigns:my_teams": get(),
            "boards:my_rank": get(),
            "notifications:inbox": get(),
            "notifications:read_all": post(),
            "notifications:preferences": get(),
        },
    ),
    (
        MEMBERS_OWN,
        {
            "member:group": get("group"),
            "member:leave": post("group"),
            "member:my_invite": get("group"),
            "orders:group_shop": get("group"),
            "orders:product": get("group", "product"),
            "orders:checkout": get("group", query="?sku={sku}&qty=1"),
            "orders:member_order": get("pending"),
            "orders:after_payment": get("paid"),
            "orders:pay": post("pending"),
            "orders:cancel": get("pending"),
            "orders:complete": post("paid"),
            "orders:refund": get("paid"),
            "orders:open_case": get("paid"),
            "orders:reorder": get("product"),
            "notifications:detail": get("notification"),
            "campaigns:help_claim": post("help_task"),
            "campaigns:bargain_buy": post("bargain"),
        },
    ),
    (
        API_SIGNED_IN,
        {
            "api-link-join": post("link_code"),
            "api-my-memberships": get(),
            "api-my-orders": get(),
            "api-my-teams": get(),
            "api-my-participations": get(),
            "api-my-referrals": get(),
            "api-my-referral-rewards": get(),
            "api-my-commission": get(),
            "api-my-withdrawals": get(),
            "api-my-notifications": get(),
            "api-my-notifications-unread": get(),
            "api-my-notifications-read-all": post(),
            "api-my-preferences": get(),
        },
    ),
    (
        API_MEMBERS_OWN,
        {
            "api-membership-leave": post("membership"),
            "api-my-invite-link": post("group"),
            "api-my-group-products": get("group"),
            "api-my-group-campaigns": get("group"),
            "api-my-group-product": get("group", "product"),
            "api-my-group-pickup-points": get("group"),
            "api-my-group-orders": post("group"),
            "api-my-group-quote": post("group"),
            "api-my-order": get("pending"),
            "api-my-order-pay": post("pending"),
            "api-my-order-cancel": post("pending"),
            "api-my-order-request-refund": post("paid"),
            "api-my-order-confirm-receipt": post("paid"),
            "api-my-order-after-sales": post("paid"),
            "api-my-notification": get("notification"),
            "api-my-notification-read": post("notification"),
            "api-help-task": get("help_task"),
            "api-help-task-help": post("help_task"),
            "api-help-task-claim": post("help_task"),
            "api-bargain": get("bargain"),
            "api-bargain-cut": post("bargain"),
            "api-bargain-buy": post("bargain"),
        },
    ),
    (
        SHOP_LIST,
        {
            "dashboard:groups": get(),
            "dashboard:series_list": get(),
            "dashboard:orders": get(),
            "dashboard:orders_export": get(),
            "dashboard:products": get(),
            "dashboard:pickup_points": get(),
            "dashboard:cases": get(),
            "dashboard:reminders": get(),
            "dashboard:campaigns": get(),
            "dashboard:jobs": get(),
            "dashboard:analytics_funnel": get(),
            "dashboard:analytics_repeat": get(),
            "dashboard:analytics_cohorts": get(),
            "dashboard:analytics_campaigns": get(),
            "dashboard:analytics_groups": get(),
            "dashboard:referrals": get(),
            "dashboard:referral_rewards": get(),
            "dashboard:referral_withdrawals": get(),
            "dashboard:referral_settings": get(),
            "dashboard:referral_stewards": get(),
            "dashboard:leaderboards": get(),
            "dashboard:leaderboard_export": get(),
            "dashboard:fraud_flags": get(),
            "dashboard:fraud_settings": get(),
            "dashboard:notifications": get(),
            "dashboard:operators": get(),
        },
    ),
    (
        SHOP_OBJECT,
        {
            "dashboard:group_detail": get("group"),
            "dashboard:group_lurkers": get("group"),
            "dashboard:group_health": get("group"),
            "dashboard:link_qr_png": get("link"),
            "dashboard:link_qr_svg": get("link"),
            "dashboard:link_poster": get("link"),
            "dashboard:series_detail": get("series"),
            "dashboard:order_detail": get("paid"),
            "dashboard:case_detail": get("case"),
            "dashboard:reminder_product": get("product"),
            "dashboard:campaign_detail": get("campaign"),
            "dashboard:campaign_figures": get("campaign"),
            "dashboard:campaign_qr": get("campaign"),
            "dashboard:campaign_poster": get("campaign"),
            "dashboard:campaign_landing_preview": get("campaign"),
            "dashboard:analytics_campaign": get("campaign"),
            "dashboard:referral_member": get("member"),
            "dashboard:fraud_flag": get("fraud_flag"),
        },
    ),
    (
        SHOP_WRITE,
        {
            "dashboard:group_create": get(),
            "dashboard:series_create": get(),
            "dashboard:product_create": get(),
            "dashboard:campaign_create": get(),
            "dashboard:campaign_launch": get(),
            "dashboard:campaign_launch_new": get("group_buy"),
            "dashboard:leaderboard_rebuild": post(),
        },
    ),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:checkin_hide": post("check_in"),
            "dashboard:contest_settle": post("contest_campaign"),
            "dashboard:contest_prize_review": post("contest_prize"),
            "dashboard:checkin_show": post("check_in"),
            "dashboard:group_edit": get("group"),
            "dashboard:group_transition": post("group"),
            "dashboard:group_owner": post("group"),
            "dashboard:group_planned_start": post("group"),
            "dashboard:link_create": post("group"),
            "dashboard:my_link": post("group"),
            "dashboard:member_action": post("membership", "approve"),
            "dashboard:link_revoke": post("link"),
            "dashboard:series_link_create": post("series"),
            "dashboard:order_ship": post("paid"),
            "dashboard:order_cancel": post("pending"),
            "dashboard:order_refund": post("paid"),
            "dashboard:order_refund_approve": post("paid"),
            "dashboard:order_refund_part": post("paid"),
            "dashboard:order_refund_reject": post("paid"),
            "dashboard:product_edit": get("product"),
            "dashboard:sku_stock": post("sku"),
            "dashboard:pickup_point_edit": get("point"),
            "dashboard:case_close": post("case"),
            "dashboard:campaign_edit": get("campaign"),
            "dashboard:campaign_launch_draft": get("campaign"),
            "dashboard:campaign_launch_preview": post("campaign", when="now"),
            "dashboard:referral_withdrawal_action": post("withdrawal", "approve"),
            "dashboard:fraud_decide": post("fraud_flag"),
            "dashboard:delivery_retry": post("delivery"),
        },
    ),
    (
        OWNER_WRITE,
        {
            "dashboard:operator_add": post(),
            "dashboard:payment_account_edit": get("wechatpay"),
        },
    ),
    (
        API_SHOP_LIST,
        {
            "api-shop-groups": get(),
            "api-shop-series": get(),
            "api-shop-products": get(),
            "api-shop-pickup-points": get(),
            "api-shop-orders": get(),
            "api-shop-cases": get(),
            "api-shop-referral-rewards": get(),
            "api-shop-steward-rules": get(),
            "api-shop-steward-rewards": get(),
            "api-shop-withdrawals": get(),
            "api-shop-referral-viral": get(),
            "api-analytics-funnel": get(),
            "api-analytics-repeat": get(),
            "api-analytics-cohorts": get(),
            "api-analytics-campaigns": get(),
            "api-analytics-groups": get(),
        },
    ),
    (
        API_SHOP_OBJECT,
        {
            "api-shop-group": get("group"),
            "api-shop-group-members": get("group"),
            "api-shop-group-links": get("group"),
            "api-shop-series-detail": get("series"),
            "api-shop-product": get("product"),
            "api-shop-sku": get("sku"),
            "api-shop-pickup-point": get("point"),
            "api-shop-order": get("paid"),
            "api-shop-case": get("case"),
            "api-analytics-campaign": get("campaign"),
        },
    ),
    (
        API_SHOP_OBJECT_WRITE,
        {
            "api-shop-group-transition": post("group"),
            "api-shop-member-action": post("membership", "approve"),
            "api-shop-link-revoke": post("link"),
            "api-shop-product-images": post("product"),
            "api-shop-product-skus": post("product"),
            "api-shop-sku-stock": post("sku"),
            "api-shop-order-ship": post("paid"),
            "api-shop-order-cancel": post("pending"),
            "api-shop-order-refund": post("paid"),
            "api-shop-order-approve-refund": post("paid"),
            "api-shop-order-reject-refund": post("paid"),
            "api-shop-case-close": post("case"),
            "api-shop-withdrawal-action": post("withdrawal", "approve"),
        },
    ),
    # Sign-in: allauth's pages (a signed-in person is sent on) and the rest of the sign-in flows.
    (
        PUBLIC,
        {
            "account_login": get(),
            "account_signup": get(),
            "account_request_login_code": get(),
            "account_reset_password": get(),
            "account_reset_password_done": get(),
            "account_reset_password_from_key": get("0", "bad-key"),
            "account_reset_password_from_key_done": get(),
            "account_confirm_email": get("bad-key"),
            "account_email_verification_sent": get(),
            "account_inactive": get(),
            "account_logout": get(),
            "socialaccount_login_cancelled": get(),
            "accounts/social/login/cancelled/": get(),
            "accounts/social/login/error/": get(),
            "accounts/social/signup/": get(),
            "accounts/social/connections/": get(),
            "_allauth/app/v1/auth/code/request": post(),
            "_allauth/browser/v1/auth/code/request": post(),
            "headless:openapi_yaml": get(),
            "headless:openapi_json": get(),
            "headless:openapi_html": get(),
        },
    ),
    (
        SIGNED_IN,
        {
            "account_email": get(),
            "account_change_password": get(),
            "account_set_password": get(),
            "account_reauthenticate": get(),
            "account_change_phone": get(),
            "socialaccount_connections": get(),
        },
    ),
    (
        NOBODY_YET,
        {
            "weixin_first_sign_in": get(),
            "socialaccount_signup": get(),
        },
    ),
    # allauth's headless API, for apps (X-Session-Token) and the browser (the session cookie).
    (
        SIGNED_IN,
        {
            "headless:browser:account:current_session": get(),
            "headless:browser:account:reauthenticate": post(),
            "headless:browser:account:change_password": post(),
            "headless:browser:account:manage_email": get(),
            "headless:browser:account:manage_phone": get(),
            "headless:browser:socialaccount:manage_providers": get(),
        },
    ),
    # The app client authenticates by X-Session-Token only: a browser session does not count.
    (
        NOBODY_YET,
        {
            "headless:app:account:current_session": get(),
            "headless:app:account:reauthenticate": post(),
            "headless:app:account:change_password": post(),
            "headless:app:account:manage_email": get(),
            "headless:app:account:manage_phone": get(),
            "headless:app:socialaccount:manage_providers": get(),
            "headless:browser:socialaccount:redirect_to_provider": post(),
            "headless:app:socialaccount:redirect_to_provider": post(),
        },
    ),
    (
        PUBLIC,
        {
            f"headless:{client}:{name}": row
            for client in ("browser", "app")
            for name, row in {
                "config": get(),
                "account:confirm_login_code": post(),
                "account:request_password_reset": post(),
                "account:reset_password": post(),
                "account:login": post(),
                "account:signup": post(),
                "account:verify_email": post(),
                "account:resend_email_verification_code": post(),
                "account:verify_phone": post(),
                "account:resend_phone_verification_code": post(),
                "account:request_login_code": post(),
                "account:resend_login_code": post(),
                "socialaccount:provider_signup": post(),
                "socialaccount:provider_token": post(),
            }.items()
        }
        | {"headless:app:tokens:refresh": post()},
    ),
    # Found this way and safe: pages of the member's own shop or task, owner-only settings, and writes whose
    # empty form the view refuses as "not found" (no account, no such action) rather than as invalid.
    (
        SHOP_MEMBERS,
        {
            "notifications:shop_preferences": get("shop"),
            "campaigns:share_qr": get("campaign"),
            "campaigns:share_poster": get("campaign"),
            "orders:simulated_cashier": get("payment_ref"),
        },
    ),
    (API_SHOP_MEMBERS, {"api-my-shop-preferences": get("shop")}),
    (
        STARTER_ONLY,
        {
            "campaigns:help_task": get("help_task"),
            "campaigns:bargain": get("bargain"),
        },
    ),
    (
        Policy(HIDDEN, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED),
        {},
    ),
    # Anyone signed in may try; the campaign's rules refuse a person outside its groups with a message.
    (
        SIGNED_IN,
        {
            "campaigns:open_team": post("campaign"),
            "campaigns:join_team": post("campaign", "team"),
            "campaigns:help_start": post("help_campaign"),
            "campaigns:coupon_claim": post("coupon_campaign"),
            "campaigns:coupon_centre": get(),
            "campaigns:bargain_start": post("bargain_campaign"),
            "campaigns:flash_buy": post("flash_campaign"),
            "campaigns:checkin_page": get("checkin_campaign"),
            "campaigns:checkin_do": post("checkin_campaign"),
            "campaigns:checkin_makeup": post("checkin_campaign"),
            "weixin_bind": get(),
            "account_confirm_login_code": get(),
            "account_verify_phone": get(),
        },
    ),
    (
        API_SIGNED_IN,
        {
            "api-my-campaign": get("campaign"),
            "api-my-campaign-teams": get("campaign"),
            "api-my-campaign-team": get("campaign", "team"),
            "api-my-campaign-team-join": post("campaign", "team"),
            "api-my-help-tasks": post("help_campaign"),
            "api-coupon-claim": post("coupon_campaign"),
            "api-my-coupons": get(),
            "api-coupon-centre": get(),
            "api-my-bargains": post("bargain_campaign"),
            "api-my-flash-orders": post("flash_campaign"),
            "api-my-checkin": get("checkin_campaign"),
            "api-my-contest": get("contest_campaign"),
            "api-my-checkin-makeup": post("checkin_campaign"),
        },
    ),
    (Policy(DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN), {"api-my-wechat-subscriptions": post()}),
    (SWITCHED_OFF, {"weixin_login": get(), "weixin_callback": get()}),
    (NOBODY_YET, {"socialaccount_login_error": get()}),
    (
        SHOP_LIST,
        {
            "dashboard:payment_settings": get(),
            "dashboard:ledger_check": get(),
        },
    ),
    (
        SHOP_OBJECT,
        {
            "dashboard:reconciliation": get("reconciliation"),
        },
    ),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:sku_create": post("product"),
            "dashboard:sku_edit": post("sku"),
            "dashboard:campaign_action": post("campaign", "cancel"),
        },
    ),
    (
        OWNER_WRITE,
        {
            "dashboard:automation_settings": get(),
            "dashboard:shop_settings": get(),
            "dashboard:notification_settings": get(),
            "dashboard:referral_rule_create": post(),
        },
    ),
    (OWNER_READ, {"dashboard:audit_log": get()}),
    (
        OWNER_OBJECT_WRITE,
        {
            "dashboard:operator_role": post("viewer_seat"),
            "dashboard:operator_remove": post("viewer_seat"),
            "dashboard:referral_rule_deactivate": post("rule"),
        },
    ),
    # Without a worker heartbeat (none runs here) /healthz answers 503 to everyone, naming no internals.
    (Policy(*["status 503"] * 7), {"healthz": get()}),
    (
        Policy(LOGIN, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
        {
            "campaigns:help_qr": get("help_task"),
            "campaigns:bargain_qr": get("bargain"),
            "campaigns:help_poster": get("help_task"),
            "campaigns:bargain_poster": get("bargain"),
        },
    ),
    (STARTER_ONLY, {"campaigns:help_give": post("help_task"), "campaigns:bargain_cut": post("bargain")}),
    # A link's QR code and poster are its inviter's (here shop A's owner).
    (
        Policy(LOGIN, HIDDEN, HIDDEN, HIDDEN, ALLOWED, HIDDEN, HIDDEN),
        {
            "member:invite_qr": get("link_code"),
            "member:invite_qr_svg": get("link_code"),
            "member:invite_poster": get("link_code"),
        },
    ),
    # WeChat Pay's page for a payment made elsewhere (here the simulated provider) does not exist.
    (Policy(LOGIN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN), {"orders:provider_pay": get("payment_ref")}),
    (SHOP_OBJECT, {"dashboard:switch_shop": post(shop="shop")}),
    (SHOP_WRITE, {"dashboard:campaign_validate": post(type="group_buy")}),
    # The owner's reconciliation of an account not in the shop: not found (viewers are refused first).
    (Policy(LOGIN, DENIED, DENIED, HIDDEN, HIDDEN, HIDDEN, DENIED), {"dashboard:reconcile_now": post(account="0")}),
    # A member with no leaderboard entry: not found for the shop's staff and the platform alike.
    (Policy(LOGIN, DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENIED), {"dashboard:leaderboard_member": get("member")}),
    (Policy(LOGIN, DENIED, DENIED, DENIED, DENIED, DENIED, HIDDEN), {"platform:member": get("shop", "member")}),
    # A group's 群主/管理员 pages (groups.powers): the shop's operators with a write role may use them; the
    # member (an ordinary member of the group) and the viewer see the group but lack the power (403); for
    # another shop's staff and the platform admin the group does not exist (404).
    (
        Policy(LOGIN, DENIED, DENIED, ALLOWED, ALLOWED, HIDDEN, HIDDEN),
        {
            "member:steward_applicants": get("group"),
            "member:steward_members": get("group"),
            "member:steward_warn": post("group", "membership"),
            "member:steward_remove": post("group", "membership"),
            "member:steward_figures": get("group"),
        },
    ),
    # An application in a group the member is not in: not found for them.
    (
        Policy(LOGIN, HIDDEN, DENIED, ALLOWED, ALLOWED, HIDDEN, HIDDEN),
        {"member:steward_decide_applicant": post("application_group", "application", "approve")},
    ),
    (SIGNED_IN, {"member:my_warnings": get()}),
    # The same powers through the API (groups/steward_api.py): signed out is a 403 there.
    (
        Policy(DENIED, DENIED, DENIED, ALLOWED, ALLOWED, HIDDEN, HIDDEN),
        {
            "api-steward-warn": post("group", "membership"),
            "api-steward-remove": post("group", "membership"),
        },
    ),
    (
        Policy(DENIED, HIDDEN, DENIED, ALLOWED, ALLOWED, HIDDEN, HIDDEN),
        {"api-steward-applicant": post("application_group", "application", "approve")},
    ),
    (API_MEMBERS_OWN, {"api-my-warning-appeal": post("warning")}),
    (API_SHOP_OBJECT_WRITE, {"api-shop-appeal-decide": post("appeal")}),
    (MEMBERS_OWN, {"member:warning_appeal": post("warning")}),
    (SHOP_LIST, {"dashboard:warning_appeals": get()}),
    (SHOP_OBJECT_WRITE, {"dashboard:decide_warning_appeal": post("appeal")}),
    (
        PLATFORM,
        {
            "platform:leaderboards": get(),
            "platform:leaderboard_export": get(),
            "platform:leaderboard_rebuild": post(),
            "platform:fraud_flags": get(),
            "platform:fraud_flag": get("fraud_flag"),
            "platform:fraud_decide": post("fraud_flag"),
        },
    ),
    # 送 gifts: an open gift's link is its invitation (anyone may open it; claiming needs a sign-in); its QR
    # code and poster are its giver's (the member). The fulfilment queue is the shop's.
    (PUBLIC, {"campaigns:gift": get("gift_token")}),
    (
        SIGNED_IN,
        {
            "campaigns:give_buy": post("give_campaign"),
            "campaigns:give_treat": get("give_campaign"),
            "campaigns:my_gifts": get(),
            "campaigns:gift_claim": post("gift_token"),
        },
    ),
    (
        Policy(LOGIN, ALLOWED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
        {"campaigns:gift_qr": get("gift_token"), "campaigns:gift_poster": get("gift_token")},
    ),
    (
        API_SIGNED_IN,
        {
            "api-give-buy": post("give_campaign"),
            "api-give-treat": post("give_campaign"),
            "api-my-gifts": get(),
            "api-gift": get("gift_token"),
            "api-gift-claim": post("gift_token"),
        },
    ),
    (SHOP_LIST, {"dashboard:fulfilment": get()}),
    (SHOP_OBJECT_WRITE, {"dashboard:fulfilment_hand_over": post("owed_item")}),
]


# The group space (群空间): joined members only; tests/groups/test_space_permissions.py has every action × role
# in the group, in another group and in another shop.
MATRIX += [
    (
        MEMBERS_OWN,
        {
            "member:space": get("group"),
            "member:space_post_create": get("group"),
            "member:space_post": get("group", "space_post"),
            "member:space_reply": post("group", "space_post"),
            "member:space_answered": post("group", "space_post"),
            "member:space_photo": get("group", "space_photo"),
            "member:space_wechat_qr": get("group"),
        },
    ),
    (
        SHOP_OBJECT,
        {
            "dashboard:group_space": get("group"),
            "dashboard:group_space_qr": get("group"),
            "dashboard:space_post": get("space_post"),
            "dashboard:space_photo": get("space_photo"),
        },
    ),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:group_space_announce": post("group"),
            "dashboard:group_space_contact": post("group"),
            "dashboard:space_post_reply": post("space_post"),
            "dashboard:space_post_answered": post("space_post"),
            "dashboard:space_post_hide": post("space_post"),
            "dashboard:space_post_restore": post("space_post"),
        },
    ),
    # Hiding needs the group power (groups.powers): the member asked the question but holds no power.
    (Policy(LOGIN, DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN), {"member:space_hide": post("group", "space_post")}),
    (
        API_MEMBERS_OWN,
        {
            "api-my-space-posts": get("group"),
            "api-my-space-post": get("group", "space_post"),
            "api-my-space-reply": post("group", "space_post"),
            "api-my-space-answered": post("group", "space_post"),
            "api-my-space-contact": get("group"),
        },
    ),
    (
        Policy(DENIED, DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
        {"api-my-space-hide": post("group", "space_post")},
    ),
    (API_SHOP_OBJECT, {"api-shop-space-posts": get("group")}),
    (
        API_SHOP_OBJECT_WRITE,
        {
            "api-shop-checkin-hide": post("check_in"),
            "api-shop-checkin-show": post("check_in"),
            "api-shop-space-reply": post("space_post"),
            "api-shop-space-answered": post("space_post"),
            "api-shop-space-hide": post("space_post"),
            "api-shop-space-restore": post("space_post"),
        },
    ),
    (
        API_SHOP_LIST,
        {"api-shop-space-reply-times-groups": get(), "api-shop-space-reply-times-responders": get()},
    ),
    (SHOP_LIST, {"dashboard:space_reply_times": get()}),
    (OWNER_WRITE, {"dashboard:space_settings": post()}),
    # Hiding one reply: the group power (the member wrote neither the question's reply nor holds the power).
    (
        Policy(LOGIN, DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
        {"member:space_comment_hide": post("group", "space_post", "space_comment")},
    ),
    (
        Policy(DENIED, DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
        {"api-my-space-comment-hide": post("group", "space_post", "space_comment")},
    ),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:space_comment_hide": post("space_comment"),
            "dashboard:space_comment_restore": post("space_comment"),
        },
    ),
    (
        API_SHOP_OBJECT_WRITE,
        {
            "api-shop-space-comment-hide": post("space_comment"),
            "api-shop-space-comment-restore": post("space_comment"),
        },
    ),
]

# The complaints and suggestions box (投诉与建议): a member's own items; the shop's staff read, operators write;
# tests/groups/test_feedback.py has the rest of the denial paths.
MATRIX += [
    (
        MEMBERS_OWN,
        {
            "member:feedback_new": get("group"),
            "member:feedback_detail": get("feedback"),
            "member:feedback_photo": get("feedback"),
        },
    ),
    (SIGNED_IN, {"member:feedback_list": get()}),
    (SHOP_LIST, {"dashboard:feedback": get(), "dashboard:feedback_departments": get()}),
    (SHOP_OBJECT, {"dashboard:feedback_detail": get("feedback"), "dashboard:feedback_photo": get("feedback")}),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:feedback_route": post("feedback"),
            "dashboard:feedback_answer": post("feedback"),
            "dashboard:feedback_close": post("feedback"),
            "dashboard:feedback_department_toggle": post("feedback_department"),
        },
    ),
    (API_MEMBERS_OWN, {"api-my-group-feedback": post("group"), "api-my-feedback-item": get("feedback")}),
    (API_SIGNED_IN, {"api-my-feedback": get()}),
    (API_SHOP_LIST, {"api-shop-feedback": get(), "api-shop-feedback-departments": get()}),
    (API_SHOP_OBJECT, {"api-shop-feedback-item": get("feedback")}),
    (
        API_SHOP_OBJECT_WRITE,
        {
            "api-shop-feedback-route": post("feedback"),
            "api-shop-feedback-answer": post("feedback"),
            "api-shop-feedback-close": post("feedback"),
        },
    ),
]

# Segments, automatic tags and broadcasts (群发): tests/segments/test_pages.py has the writes' outcomes.
MATRIX += [
    (SHOP_LIST, {"dashboard:segments": get(), "dashboard:tag_rules": get(), "dashboard:broadcasts": get()}),
    (
        SHOP_WRITE,
        {"dashboard:segment_create": get(), "dashboard:broadcast_create": get(), "dashboard:tag_rule_create": post()},
    ),
    (SHOP_OBJECT, {"dashboard:segment_detail": get("segment"), "dashboard:broadcast_detail": get("broadcast")}),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:segment_edit": get("segment"),
            "dashboard:segment_invite": post("segment"),
            "dashboard:tag_rule_update": post("tag_rule"),
            "dashboard:broadcast_send": post("broadcast"),
        },
    ),
    (API_SHOP_LIST, {"api-shop-segments": get(), "api-shop-broadcasts": get(), "api-shop-tag-rules": get()}),
    (
        API_SHOP_OBJECT,
        {
            "api-shop-segment": get("segment"),
            "api-shop-segment-members": get("segment"),
            "api-shop-broadcast": get("broadcast"),
        },
    ),
    (
        API_SHOP_OBJECT_WRITE,
        {"api-shop-broadcast-send": post("broadcast"), "api-shop-segment-invite": post("segment", group="group")},
    ),
]


# SOP playbooks (新群培育); tests/playbooks/test_pages.py has the denials with their effects.
MATRIX += [
    (SHOP_LIST, {"dashboard:playbooks": get(), "dashboard:playbook_today": get()}),
    (SHOP_WRITE, {"dashboard:playbook_create": post(), "dashboard:playbook_install_default": post()}),
    (
        SHOP_OBJECT,
        {"dashboard:playbook_detail": get("playbook"), "dashboard:group_playbook": get("group")},
    ),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:playbook_edit": post("playbook"),
            "dashboard:playbook_delete": post("playbook"),
            "dashboard:playbook_step_add": post("playbook"),
            "dashboard:playbook_step_edit": post("playbook_step"),
            "dashboard:playbook_step_delete": post("playbook_step"),
            "dashboard:group_playbook_assign": post("group"),
            "dashboard:run_step_done": post("run_step"),
            "dashboard:run_step_skip": post("run_step"),
            "dashboard:run_step_reschedule": post("run_step"),
        },
    ),
    (API_SHOP_LIST, {"api-shop-playbooks": get(), "api-shop-playbook-today": get()}),
    (API_SHOP_OBJECT, {"api-shop-group-playbook": get("group")}),
    (
        API_SHOP_OBJECT_WRITE,
        {
            "api-shop-run-step-done": post("run_step"),
            "api-shop-run-step-skip": post("run_step"),
            "api-shop-run-step-reschedule": post("run_step"),
        },
    ),
]


# 换物 swaps (campaigns/types/swap): a listing exists for its group's members (here the member owns it), a swap
# for its two members (here the member is the owner asked); the share page and its invite QR code are public;
# hiding from the member pages needs the group power; operators moderate their own shop's.
MATRIX += [
    (SIGNED_IN, {"campaigns:swap_market": get("swap_campaign")}),
    (
        MEMBERS_OWN,
        {
            "campaigns:swap_new": get("swap_campaign"),
            "campaigns:swap_listing": get("swap_listing"),
            "campaigns:swap_offer": post("swap_listing"),
            "campaigns:swap_listing_withdraw": post("swap_listing"),
            "campaigns:swap_report": post("swap_listing"),
            "campaigns:swap_poster": get("swap_listing"),
            "campaigns:swap_photo": get("swap_photo"),
            "campaigns:swap_detail": get("swap"),
            "campaigns:swap_act": post("swap", "agree"),
        },
    ),
    (
        Policy(LOGIN, DENIED, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
        {"campaigns:swap_listing_hide": post("swap_listing"), "campaigns:swap_listing_show": post("swap_listing")},
    ),
    (PUBLIC, {"campaigns:swap_share": get("swap_token"), "campaigns:swap_share_qr": get("swap_token")}),
    (SHOP_OBJECT, {"dashboard:swap_photo": get("swap_photo")}),
    (
        SHOP_OBJECT_WRITE,
        {
            "dashboard:swap_hide": post("swap_listing"),
            "dashboard:swap_show": post("swap_listing"),
            "dashboard:swap_report_act": post("swap_report", "handle"),
            "dashboard:swap_resolve": post("swap_dispute", "done"),
        },
    ),
    (API_SIGNED_IN, {"api-my-swap-listings": get("swap_campaign"), "api-my-swaps": get()}),
    (
        API_MEMBERS_OWN,
        {
            "api-my-swap-listing": get("swap_listing"),
            "api-my-swap-offer": post("swap_listing"),
            "api-my-swap-report": post("swap_listing"),
            "api-my-swap": get("swap"),
            "api-my-swap-act": post("swap", "agree"),
        },
    ),
]


def _all_patterns(patterns=None, prefix="", namespace=""):
    """(key, route) of every URL pattern: the key is its namespaced name, or its route when unnamed."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _all_patterns(pattern.url_patterns, route, inner)
        else:
            assert isinstance(pattern, URLPattern)
            yield (namespace + pattern.name if pattern.name else route), route


def _upload():
    out = BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    return SimpleUploadedFile("p.png", out.getvalue(), content_type="image/png")


def _swap_world(shop, group, member) -> dict:
    """A swap campaign: the member's listing (with a photo) and an offer on it, a report, and a disputed swap
    of two other members."""
    run = swap_campaign(shop)
    seller, buyer = make_buyer(group), make_buyer(group)
    item = swap_listing(run, member, group, photos=[_upload()])
    other = swap_listing(run, seller, group, title="绘本")
    disputed = swap_offer(other, buyer)
    swapping.agree(swap=disputed, member=seller)
    swapping.dispute(swap=disputed, member=buyer, note="没收到")
    return {
        "swap_campaign": run,
        "swap_listing": item,
        "swap_photo": item.photos.get(),
        "swap_token": item.share_token,
        "swap": swap_offer(item, seller),
        "swap_report": swapping.report(campaign=run, reporter=seller, listing=item, reason="广告"),
        "swap_dispute": disputed,
    }


def _contest_prize(shop, group):
    """A prize of an ended, settled contest of the shop (another member's)."""
    ended = contest(shop)
    invites(ended, make_buyer(group), 2)
    end(ended)
    contests.settle(ended)
    return ContestPrize.objects.get(campaign=ended)


@pytest.fixture
def world(db, settings):
    """Shop A with one of everything, its staff in each role, a member who bought, and shop B's owner."""
    shop = ShopFactory()
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    viewer_seat = OperatorFactory(shop=shop, role=OperatorRole.VIEWER)
    other_owner = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    admin = UserFactory(is_staff=True, is_superuser=True)
    member = UserFactory()

    group = GroupFactory(shop=shop)
    link = InviteLinkFactory(group=group, inviter=owner)
    membership = group_services.join_via_link(user=member, code=link.code)
    series = group_services.create_series(shop=shop, name="护肤交流", by=owner)
    sku = SkuFactory(product__shop=shop, stock=50)
    pending = order_for(member, group, sku)
    paid = order_for(member, group, sku)
    payment = pay(paid, DjangoClientTransport(Client()))
    campaign = make_campaign(shop, sku, owner=owner)
    help_run = help_campaign(shop)
    bargain_run = bargain_campaign(shop)
    checkin_run = checkin_campaign(shop)
    give_run = give_campaign(shop)
    gift = paid_gift(give_run, member, DjangoClientTransport(Client()))
    owed_item = fulfilment.owe_item(
        shop_id=shop.pk,
        member=member,
        source="contest:1",
        key="prize:matrix",
        label="签名书",
        destination=fulfilment.Destination(
            method="pickup", recipient_name="王芳", pickup_point_id=PickupPointFactory(shop=shop).pk
        ),
    )
    coupon_run = coupon_template(shop)
    notification = Notification.objects.create(
        shop=shop,
        user=member,
        category="transactional",
        kind="test",
        key=uuid.uuid4().hex,
        title="到货了",
        state="sent",
        sent_at=timezone.now(),
    )
    account = PaymentAccount.objects.create(shop=shop, provider="wechatpay")
    application_group = GroupFactory(shop=shop, threshold=Threshold.APPROVAL)
    application = group_services.join_via_link(
        user=UserFactory(), code=InviteLinkFactory(group=application_group, inviter=owner).code, answer="想加入"
    )
    warning = MemberWarning.objects.create(group=group, membership=membership, member=member, rule="不发广告", by=owner)
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(Path(settings.MEDIA_ROOT) / "matrix.png")
    question = space.create_post(
        group=group, actor=space.Actor(member), kind="question", body="怎么用？", photos=[_upload()]
    )
    space.set_contact(
        group=group,
        by=owner,
        service_contact="kf",
        wechat_qr=_upload(),
        wechat_qr_expires_at=timezone.now() + timedelta(1),
    )
    playbook = playbook_services.save_playbook(
        shop=shop,
        by=owner,
        name="新群7天",
        description="",
        match_tag=None,
        match_kind="",
        is_default=False,
        is_active=True,
    )
    playbook_step = playbook_services.save_step(
        playbook=playbook,
        by=owner,
        day=0,
        at_time=time(9),
        action="task",
        title="自我介绍",
        body="",
        campaign_template=None,
        campaign_days=2,
    )
    run = playbook_services.assign_playbook(group=group, playbook=playbook, by=owner)
    return {
        "users": {
            "anonymous": None,
            "member": member,
            "viewer": viewer_seat.user,
            "operator": operator,
            "owner": owner,
            "other_owner": other_owner,
            "admin": admin,
        },
        "shop": shop,
        "playbook": playbook,
        "playbook_step": playbook_step,
        "run_step": run.steps.get(),
        "member": member,
        "owner": owner,
        "viewer_seat": viewer_seat,
        "group": group,
        "link": link,
        "link_code": link.code,
        "membership": membership,
        "series": series,
        "product": sku.product,
        "sku": sku,
        "point": PickupPointFactory(shop=shop),
        "pending": pending,
        "paid": paid,
        "payment_ref": payment.provider_ref,
        "case": open_case(order=paid, member=member, reason="包装破损"),
        "campaign": campaign,
        "team": open_team(campaign, member, group).team,  # open_team returns the leader's seat
        "help_campaign": help_run,
        "help_task": helping.start_task(campaign=help_run, member=member),
        "bargain_campaign": bargain_run,
        "coupon_campaign": coupon_run,
        "bargain": bargain.start_bargain(campaign=bargain_run, member=member, seed=1),
        "flash_campaign": make_flash_sale(shop, sku, owner=owner),
        "checkin_campaign": checkin_run,
        "contest_campaign": contest(shop),
        "contest_prize": _contest_prize(shop, group),
        # Another member's check-in: the world's member stays off the boards (dashboard:leaderboard_member).
        "check_in": checkin.check_in(campaign=checkin_run, member=make_buyer(group)),
        "give_campaign": give_run,
        "gift_token": gift.token,
        "owed_item": owed_item,
        "notification": notification,
        "space_post": question,
        "space_comment": space.add_comment(post=question, actor=space.Actor(owner, as_operator=True), body="这样用"),
        "feedback": group_feedback.submit(group=group, member=member, kind="complaint", body="压伤了", photo=_upload()),
        "feedback_department": group_feedback.create_department(shop_id=shop.pk, by=owner, name="售后部"),
        "space_photo": question.photos.get(),
        **_swap_world(shop, group, member),
        "delivery": Delivery.objects.create(notification=notification, channel="sms", state="failed"),
        "payment_account": account,
        "application_group": application_group,
        "application": application,
        "warning": warning,
        "appeal": WarningAppeal.objects.create(warning=warning, shop=shop, text="误会"),
        "reconciliation": ReconciliationRun.objects.create(account=account, day=timezone.localdate(), state="balanced"),
        "withdrawal": WithdrawalRequest.objects.create(shop=shop, member=member, amount=1, account_note="微信"),
        "rule": RewardRule.objects.create(shop=shop, kind="points", amount=1),
        "segment": Segment.objects.create(shop=shop, name="大客户"),
        "broadcast": Broadcast.objects.create(shop=shop, group=group, title="新品", body="到货了"),
        "tag_rule": TagRule.objects.create(shop=shop, tag=TagFactory(shop=shop), kind="repeat_buyer", count=2),
        "fraud_flag": FraudFlag.objects.create(
            shop=shop,
            kind="shared_ip",
            subject="ip:10.0.0.1",
            member=member,
            evidence={"minutes": 10, "invitees": 5, "limit": 3, "inviters": 1},
            deadline=timezone.now() + timedelta(days=1),
        ),
    }


def url_of(key: str, route: str, row: Row, world: dict) -> str:
    args = [getattr(world.get(arg, arg), "pk", world.get(arg, arg)) for arg in row.args]
    if key != route:
        url = reverse(key, args=args)
    else:  # an unnamed pattern: its route, with the arguments in order
        url = "/" + route.lstrip("^").rstrip("$")
        for arg in args:
            start = url.index("(?P") if "(?P" in url else url.index("<")
            close = ")" if url[start] == "(" else ">"
            url = url[:start] + str(arg) + url[url.index(close, start) + 1 :]
    return url + row.query.format(**{k: getattr(v, "pk", v) for k, v in world.items() if k != "users"})


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def clients(world):
    """One client per person, signed in once, for reading; each write gets a fresh one (it may sign out)."""
    return {role: client_for(user) for role, user in world["users"].items()}


def request_as(role: str, clients: dict, world: dict, row: Row, url: str):
    client = clients[role] if row.method == "get" else client_for(world["users"][role])
    data = {name: getattr(world.get(value, value), "pk", world.get(value, value)) for name, value in row.data}
    options = {}
    if row.method != "get" and url.startswith(("/api/", "/_allauth/", "/pay/notify/")):
        options = {"data": data or {}, "content_type": "application/json"}
    elif row.method != "get":
        options = {"data": data}
    with transaction.atomic():
        response = getattr(client, row.method)(url, **options)
        transaction.set_rollback(True)
    return response


# Django's admin is one policy, staff only, whatever models it registers; its sign-in page is public.
ADMIN_PUBLIC = {"admin:login": get(), "admin:logout": post()}


def _rows() -> dict[str, tuple[Policy, Row]]:
    return {key: (policy, row) for policy, table in MATRIX for key, row in table.items()}


def _policy_and_row(key: str, route: str) -> tuple[Policy, Row] | None:
    if key in ADMIN_PUBLIC:
        return PUBLIC, ADMIN_PUBLIC[key]
    if route.startswith("admin/"):  # arguments: an id no object has (the staff see "not found" redirects)
        arguments = route.count("(?P") or route.count("<")
        return ADMIN_SITE, get(*(["orders"] if key == "admin:app_list" else ["0"] * arguments))
    return _rows().get(key)


def test_every_url_pattern_has_a_row():
    rows = _rows()
    missing = [key for key, route in _all_patterns() if _policy_and_row(key, route) is None]
    stale = set(rows) - {key for key, _route in _all_patterns()}

    assert not missing, f"URL patterns without a row in the permission matrix: {missing}"
    assert not stale, f"Rows for URL patterns that no longer exist: {sorted(stale)}"
    assert len(rows) == sum(len(table) for _policy, table in MATRIX)  # no pattern is listed twice


@pytest.mark.slow
def test_each_person_gets_what_the_matrix_says(world, clients):
    wrong = []
    for key, route in _all_patterns():
        if (entry := _policy_and_row(key, route)) is None:
            continue  # test_every_url_pattern_has_a_row names it
        policy, row = entry
        try:
            url = url_of(key, route, row, world)
        except Exception as exc:  # noqa: BLE001 - a row whose URL cannot be built is a wrong row
            wrong.append(f"{key}: no URL from {row.args}: {exc}")
            continue
        got = [outcome_of(request_as(role, clients, world, row, url), url) for role in ROLES]
        want = [policy.expected(role) for role in ROLES]
        got = [w if w == ADMITTED and g in (ALLOWED, DENIED, HIDDEN) else g for g, w in zip(got, want, strict=True)]
        if got != want:
            wrong.append(
                f"{row.method.upper()} {url} ({key}): "
                + ", ".join(f"{role} {g} (expected {w})" for role, g, w in zip(ROLES, got, want, strict=True) if g != w)
            )
    assert not wrong, "\n".join(wrong)
