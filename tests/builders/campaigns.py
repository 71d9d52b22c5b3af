"""Campaigns as operators make them (created and scheduled through the services; a group buy on a SKU by
default; coupon templates), group-buy teams opened and joined and coupons claimed as members do."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns import services
from campaigns.models import CampaignType
from campaigns.types.coupon import kind as coupons
from campaigns.types.group_buy import kind as group_buy
from referrals.models import RewardKind
from referrals.services import RewardRuleInput, save_reward_rule
from tests.builders.orders import SHIPPING
from tests.factories import UserFactory, shop_owner

GROUP_BUY_SETTINGS = {"team_size": 3, "group_price": "29.90", "time_limit_minutes": 60}


def make_campaign(shop, sku, *, owner=None, type=CampaignType.GROUP_BUY, run=True, settings=None, **fields):
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=type,
        name=fields.pop("name", "三人团 有机米粉"),
        starts_at=fields.pop("starts_at", now - timedelta(minutes=1)),
        ends_at=fields.pop("ends_at", now + timedelta(days=3)),
        sku=sku,
        settings=GROUP_BUY_SETTINGS if settings is None else settings,
        hook_title=fields.pop("hook_title", "三人成团，立省一半"),
        hook_text="好米粉，和朋友一起买更便宜",
        proof_text="有机认证证书；宝妈们都说好",
        cta_text=fields.pop("cta_text", "立即开团"),
        **fields,
    )
    if run:
        services.schedule_campaign(campaign=campaign, by=owner)
        campaign.refresh_from_db()
    return campaign


def open_team(campaign, member, group, *, key=None, inviter=None):
    return group_buy.open_team(
        campaign=campaign,
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key=key or uuid.uuid4().hex,
        inviter=inviter,
    )


def join(team, member, group, *, key=None, inviter=None):
    return group_buy.join_team(
        team=team,
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key=key or uuid.uuid4().hex,
        inviter=inviter,
    )


def refresh(*objs):
    for obj in objs:
        obj.refresh_from_db()
    return objs


def new_user(**kw):
    return UserFactory(**kw)


FLASH_SALE_SETTINGS = {"flash_price": "9.90", "pay_minutes": 15}


def make_flash_sale(shop, sku, *, owner=None, stock_cap=3, per_member_limit=1, run=True, **fields):
    """A 秒杀 on `sku`: `stock_cap` units at ¥9.90, `per_member_limit` each, running unless `run=False`."""
    return make_campaign(
        shop,
        sku,
        owner=owner,
        type=CampaignType.FLASH_SALE,
        run=run,
        settings=fields.pop("settings", FLASH_SALE_SETTINGS),
        name=fields.pop("name", "整点秒杀 有机米粉"),
        stock_cap=stock_cap,
        per_member_limit=per_member_limit,
        **fields,
    )


MINUS_20_OVER_100 = {"coupon_kind": "threshold", "amount_off": "20", "threshold": "100", "valid_days": 7}


def coupon_template(shop, *, settings=None, sku=None, **fields):
    """A running coupon template (满 100 减 20, 7 days after the claim, unless `settings` say otherwise)."""
    name = fields.pop("name", "满 100 减 20")
    return make_campaign(
        shop,
        sku,
        type=CampaignType.COUPON,
        name=name,
        hook_title=fields.pop("hook_title", name),
        cta_text=fields.pop("cta_text", "立即领取"),
        settings={**MINUS_20_OVER_100, **(settings or {})},
        **fields,
    )


# 无门槛 5 元 that may be used on an order at a campaign's price.
STACKS_5 = {"coupon_kind": "no_threshold", "amount_off": "5", "stack_with_campaign_price": True}


def claimed_coupon(shop, member, *, name: str | None = None, **settings):
    """`member`'s coupon, claimed from a new running coupon_template with these `settings` (and `name`)."""
    template = coupon_template(shop, settings=settings, **({"name": name} if name else {}))
    return coupons.claim_coupon(campaign=template, member=member)


def invite_both_get(shop):
    """邀请双方得券 as the shop's owner sets it up: a coupon reward rule of 5 元 and the shop's invite-both-get
    template 邀请有礼, 无门槛 5 元, not in the coupon centre (its coupons are only given); returns the template."""
    save_reward_rule(
        shop=shop,
        by=shop_owner(shop),
        data=RewardRuleInput(kind=RewardKind.COUPON, amount=Decimal("5.00"), label="邀请双方得券"),
    )
    return coupon_template(
        shop,
        name="邀请有礼",
        settings={"coupon_kind": "no_threshold", "amount_off": "5", "in_centre": False, "referral_reward": True},
    )


TWO_PERSON_GROUP_BUY = {"team_size": 2, "group_price": "19.90", "time_limit_minutes": 24 * 60}
GROUP_BUY_LANDING = {
    "hook_title": "两人成团，米粉半价",
    "hook_text": "拉上一位宝妈，一起省一半。",
    "proof_text": "有机认证证书编号 OFCC-2026-0815",
    "cta_text": "我要开团",
}


def make_two_person_group_buy(shop, sku, *, owner, **landing):
    """The walks' 拼团 on `sku`: two to a team at ¥19.90, a day to fill, running from a minute ago for three
    days; its landing texts are only those given (`**GROUP_BUY_LANDING` for the whole landing page)."""
    return _run(
        shop,
        owner,
        type=CampaignType.GROUP_BUY,
        name="两人成团 米粉半价",
        sku=sku,
        days=3,
        settings=TWO_PERSON_GROUP_BUY,
        **landing,
    )


def make_bargain(shop, sku, *, owner):
    """The walks' 砍价 on `sku`: down to ¥9.90 in at least three cuts (the first takes 60 % of the way), a
    day for each bargain, running from a minute ago for three days."""
    return _run(
        shop,
        owner,
        type=CampaignType.BARGAIN,
        name="米粉砍到 9.9",
        sku=sku,
        days=3,
        hook_title="好友帮砍，有机米粉 ¥9.90 带回家",
        hook_text="每位好友砍一刀，砍到底价即可购买。",
        settings={"floor_price": "9.90", "min_cuts": 3, "time_limit_minutes": 24 * 60, "first_cut_share": "0.60"},
    )


def make_last_unit_flash_sale(shop, sku, *, owner):
    """The walks' 秒杀 on `sku`: one unit at ¥9.90, one a member, running from a minute ago for a day."""
    return _run(
        shop,
        owner,
        type=CampaignType.FLASH_SALE,
        name="米粉整点秒杀",
        sku=sku,
        days=1,
        stock_cap=1,
        per_member_limit=1,
        hook_title="整点秒杀，有机米粉 ¥9.90",
        hook_text="限量 1 件，手慢无。",
        settings={"flash_price": "9.90"},
    )


def _run(shop, owner, *, days: int, settings: dict, **fields):
    """Created with exactly `fields` (no landing texts added) and scheduled, as the operator would."""
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=days),
        settings=settings,
        **fields,
    )
    services.schedule_campaign(campaign=campaign, by=owner)
    return campaign
