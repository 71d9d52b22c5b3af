"""The demo shop's running campaigns, written through the campaign services (seed_demo calls it).

One of each kind built so far, all running: a 拼团 (group buy) with a team that filled and one still
looking for its last member, a 助力 (help) with tasks at every stage, a 砍价 (bargain) with friends
cutting, a 满减 coupon claimed by six members and used by two, a 买一送一 gift campaign with a claimed and an
open gift, a 秒杀 flash sale with two units sold, and a 打卡 (check-in) campaign in the "护肤打卡营" group
with two weeks of check-ins (streaks, gaps, a few make-up cards, milestones reached). Help and bargain acts
happen at their own moments over the last two days (the services take `now`); group buy teams form when
their orders are paid on the simulated cashier, so they are today's. The acts credit the starters (referral
events), so the campaign boards have names on them.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from accounts.models import User
from groups.models import Membership, MembershipStatus
from orders.demo import pay_in_process
from orders.models import PickupPoint, Sku
from orders.services import DeliveryRequest, LineRequest, place_order
from shops.models import Shop

from . import services
from .models import CampaignType, Gift
from .types.bargain import kind as bargain
from .types.checkin import kind as checkin
from .types.coupon import kind as coupons
from .types.flash_sale import kind as flash_sale
from .types.give import kind as giving
from .types.group_buy import kind as group_buy
from .types.help import kind as helping


@dataclass
class DemoCampaigns:
    shop: Shop
    staff: User
    rng: random.Random
    now: datetime

    def build(self) -> None:
        members = list(
            Membership.objects.filter(
                group__shop=self.shop, status=MembershipStatus.ACTIVE, user__is_demo=True, user__phone__isnull=False
            )
            .exclude(user__operator_seats__shop=self.shop)
            .select_related("user", "group")
            .order_by("pk")
        )
        # Friends who tap share links: people who were around well before the campaigns started.
        old_enough = [m.user for m in members if m.user.date_joined < self.now - timedelta(days=4)]
        self.friends = list({u.pk: u for u in old_enough}.values())
        self.rng.shuffle(self.friends)
        starters = list({m.user_id: m for m in members}.values())
        self.rng.shuffle(starters)
        skus = list(
            Sku.objects.filter(product__shop=self.shop, product__offered_to_all_groups=True, stock__gte=20).order_by(
                "price", "pk"
            )
        )
        self.point = PickupPoint.objects.filter(shop=self.shop).order_by("pk").first()
        self._group_buy(skus[-1], starters[:5])
        self._help(skus[0], starters[5:10])
        self._bargain(skus[len(skus) // 2], starters[10:13])
        self._checkin()
        self._coupon(skus[-1], starters[13:19])
        self._gift(skus[0], starters[19:21])
        self._flash_sale(skus[len(skus) // 2], starters[21:23])
        self._swap(members)

    # --- the campaigns ------------------------------------------------------------------------------

    def _campaign(self, *, type: str, name: str, sku: Sku, settings: dict, texts: tuple[str, str, str, str]):
        hook_title, hook_text, proof_text, cta_text = texts
        campaign = services.create_campaign(
            shop=self.shop,
            by=self.staff,
            type=type,
            name=name,
            starts_at=self.now - timedelta(days=3),
            ends_at=self.now + timedelta(days=11),
            all_groups=True,
            sku=sku,
            settings=settings,
            hook_title=hook_title,
            hook_text=hook_text,
            proof_text=proof_text,
            cta_text=cta_text,
        )
        return services.schedule_campaign(campaign=campaign, by=self.staff)

    def _group_buy(self, sku: Sku, people: list[Membership]) -> None:
        """Three-person teams at a group price: one filled (3/3), one still open (2/3)."""
        price = (sku.price * Decimal("0.7")).quantize(Decimal("0.1"))
        campaign = self._campaign(
            type=CampaignType.GROUP_BUY,
            name=f"三人团 {sku.product.name}",
            sku=sku,
            settings={"team_size": 3, "group_price": str(price), "time_limit_minutes": 24 * 60},
            texts=("三人成团，立享七折", "拉上两位群友一起买，更划算", "群友复购率 60%", "立即开团"),
        )
        for team_people in (people[:3], people[3:5]):
            leader, *joiners = team_people
            seat = group_buy.open_team(
                campaign=campaign,
                member=leader.user,
                group=leader.group,
                delivery=self._delivery(),
                idempotency_key=uuid.uuid4().hex,
            )
            pay_in_process(seat.order)
            for joiner in joiners:
                seat.team.refresh_from_db()
                joined = group_buy.join_team(
                    team=seat.team,
                    member=joiner.user,
                    group=joiner.group,
                    delivery=self._delivery(),
                    idempotency_key=uuid.uuid4().hex,
                    inviter=leader.user,
                )
                pay_in_process(joined.order)

    def _help(self, sku: Sku, starters: list[Membership]) -> None:
        """Tasks started over the last two days: one completed, the others part-way."""
        campaign = self._campaign(
            type=CampaignType.HELP,
            name=f"三人助力 1 分钱领{sku.product.name}",
            sku=sku,
            settings={
                "helps_needed": 3,
                "time_limit_minutes": 3 * 24 * 60,
                "reward_kind": "price",
                "reward_price": "0.01",
            },
            texts=("三位好友助力，1 分钱带走", "分享给好友，每人点一下就好", "已有上百位宝妈领到", "发起助力"),
        )
        for index, starter in enumerate(starters):
            started = self.now - timedelta(days=self.rng.uniform(0.3, 2))
            task = helping.start_task(campaign=campaign, member=starter.user, group=starter.group, now=started)
            at = started
            for friend in self._friends_for(starter.user, 3 if index == 0 else self.rng.randint(0, 2)):
                at += (self.now - at) * self.rng.uniform(0.05, 0.4)
                helping.give_help(task=task, helper=friend, now=at)

    def _bargain(self, sku: Sku, starters: list[Membership]) -> None:
        """Bargains started over the last two days, friends cutting the price down."""
        campaign = self._campaign(
            type=CampaignType.BARGAIN,
            name=f"砍到底价 {sku.product.name}",
            sku=sku,
            settings={
                "original_price": str(sku.price),
                "floor_price": str((sku.price * Decimal("0.5")).quantize(Decimal("0.01"))),
                "min_cuts": 5,
                "time_limit_minutes": 3 * 24 * 60,
                "first_cut_share": "0.40",
                "pay_within_minutes": 24 * 60,
            },
            texts=("好友帮砍，最低半价", "每位好友砍一刀，砍到底价再买", "砍价记录公开可查", "发起砍价"),
        )
        for starter in starters:
            started = self.now - timedelta(days=self.rng.uniform(0.3, 2))
            task = bargain.start_bargain(campaign=campaign, member=starter.user, group=starter.group, now=started)
            at = started
            for friend in self._friends_for(starter.user, self.rng.randint(2, 4)):
                at += (self.now - at) * self.rng.uniform(0.05, 0.4)
                bargain.cut(task=task, cutter=friend, now=at)

    def _checkin(self) -> None:
        """21 天护肤打卡 in the skin-care groups (the group-link series 护肤打卡营), running for 14 days: each
        member checks in on most days since they joined (some every day, some with gaps), at moments inside
        the 06:00–23:00 window, and a few fill a missed day with a make-up card. Every check-in goes
        through the rules (streaks, milestones, the boards' events, activity for lurker detection)."""
        from groups.models import GroupSeries

        series = GroupSeries.objects.filter(shop=self.shop, name="护肤打卡营").first()
        if series is None:
            return
        starts = self.now - timedelta(days=14)
        campaign = services.create_campaign(
            shop=self.shop,
            by=self.staff,
            type=CampaignType.CHECKIN,
            name="21 天护肤打卡",
            starts_at=starts,
            ends_at=starts + timedelta(days=21),
            all_groups=False,
            series=[series],
            settings={
                "window_start": "06:00",
                "window_end": "23:00",
                "proof": "text",
                "min_length": 4,
                "milestones": "7:10,14:30,21:100",
                "makeup_cards": 1,
                "makeup_every_days": 7,
                "makeup_days_back": 3,
            },
            hook_title="21 天护肤打卡，坚持就有好皮肤",
            hook_text="每天早晚记录护肤步骤，连续打卡领积分，满 21 天送正装小样",
            proof_text="上一期 86 位群友坚持打满 21 天",
            cta_text="去打卡",
        )
        campaign = services.schedule_campaign(campaign=campaign, by=self.staff)
        members = Membership.objects.filter(
            group__series=series, status=MembershipStatus.ACTIVE, user__is_demo=True, joined_at__isnull=False
        ).exclude(user__operator_seats__shop=self.shop)
        today = checkin.shop_day(self.now)
        notes = ("洁面+水乳，今天皮肤状态不错", "敷了补水面膜", "早上防晒打卡", "晚上修护精华", "喝够八杯水")
        for membership in members.select_related("user", "group").order_by("pk")[:40]:
            keen = self.rng.random()  # how often this member shows up
            first = max(checkin.shop_day(membership.joined_at), checkin.shop_day(starts))
            missed = []
            for n in range((today - first).days + 1):
                day = first + timedelta(days=n)
                if self.rng.random() > 0.35 + 0.6 * keen:
                    missed.append(day)
                    continue
                at = datetime.combine(day, datetime.min.time(), tzinfo=checkin.shop_zone()) + timedelta(
                    hours=self.rng.uniform(6.5, 22.5)
                )
                if at >= self.now or at <= membership.joined_at:
                    continue
                checkin.check_in(
                    campaign=campaign,
                    member=membership.user,
                    group=membership.group,
                    text=self.rng.choice(notes),
                    now=at,
                )
            reachable = [d for d in missed if today - timedelta(days=3) <= d < today]
            if reachable and keen > 0.5:  # the keen ones fill their latest gap with their one card
                checkin.make_up(campaign=campaign, member=membership.user, day=reachable[-1], now=self.now)

    def _coupon(self, sku: Sku, claimers: list[Membership]) -> None:
        """A 满减 coupon in the coupon centre: six members claimed it, two paid less with it."""
        threshold = max(sku.price.to_integral_value(rounding="ROUND_FLOOR"), Decimal("10"))
        template = self._campaign(
            type=CampaignType.COUPON,
            name=f"满 {threshold} 减 5",
            sku=None,
            settings={"coupon_kind": "threshold", "threshold": str(threshold), "amount_off": "5", "valid_days": 14},
            texts=(f"满 {threshold} 减 5 元", "领券下单立减，群友专享", "每人限领一张", "立即领取"),
        )
        for index, claimer in enumerate(claimers):
            coupon = coupons.claim_coupon(campaign=template, member=claimer.user)
            if index < 2:
                order = place_order(
                    member=claimer.user,
                    group=claimer.group,
                    lines=[LineRequest(sku.pk, 1)],
                    delivery=self._delivery(),
                    idempotency_key=uuid.uuid4().hex,
                    choices={"coupon": str(coupon.pk)},
                )
                pay_in_process(order)

    def _gift(self, sku: Sku, givers: list[Membership]) -> None:
        """买一送一: two members bought a gift; one friend claimed theirs, the other gift is still open."""
        campaign = self._campaign(
            type=CampaignType.GIVE,
            name=f"送好友一份{sku.product.name}",
            sku=sku,
            settings={"mode": "gift", "claim_days": 7, "on_expiry": "refund"},
            texts=("买一份送好友", "付款后把礼物卡转给好友，好友填地址领取", "七天内未领取自动退款", "买一份送好友"),
        )
        gifts = []
        for giver in givers:
            order = giving.buy_gift(
                campaign=campaign, member=giver.user, idempotency_key=uuid.uuid4().hex, message="一起试试这个"
            )
            pay_in_process(order)
            gifts.append(Gift.objects.get(order=order))
        friend = self._friends_for(gifts[0].giver, 1)[0]
        giving.claim_gift(gift=gifts[0], member=friend, delivery=self._delivery())

    def _flash_sale(self, sku: Sku, buyers: list[Membership]) -> None:
        """整点秒杀: ten units at half price, two taken and paid."""
        campaign = services.create_campaign(
            shop=self.shop,
            by=self.staff,
            type=CampaignType.FLASH_SALE,
            name=f"整点秒杀 {sku.product.name}",
            starts_at=self.now - timedelta(hours=2),
            ends_at=self.now + timedelta(days=2),
            all_groups=True,
            sku=sku,
            stock_cap=10,
            per_member_limit=1,
            settings={"flash_price": str((sku.price * Decimal("0.5")).quantize(Decimal("0.01"))), "pay_minutes": 15},
            hook_title="整点秒杀，半价限量 10 件",
            hook_text="每人限购一件，先到先得",
            proof_text="限量 10 件，抢完即止",
            cta_text="立即抢购",
        )
        campaign = services.schedule_campaign(campaign=campaign, by=self.staff)
        for buyer in buyers:
            order = flash_sale.buy(
                campaign=campaign,
                member=buyer.user,
                group=buyer.group,
                delivery=self._delivery(),
                idempotency_key=uuid.uuid4().hex,
            )
            pay_in_process(order)

    def _swap(self, members: list[Membership]) -> None:
        """宝妈闲置换换乐 in every group, running for ten days: members list things their children outgrew
        (some with a photo), others offer an item of theirs or a price; one swap is done (both confirmed the
        hand-over), one is half handed over, one agreed, offers were declined and one expired unanswered, and
        a listing was reported. Every move goes through the rules, at its own moment."""
        from .types.swap import kind as swapping

        by_group: dict[int, list[Membership]] = {}
        for membership in members:
            by_group.setdefault(membership.group_id, []).append(membership)
        people = max(by_group.values(), key=len, default=[])[:8]  # a swap happens between members of one group
        if len(people) < 8:
            return
        starts = self.now - timedelta(days=10)
        campaign = services.create_campaign(
            shop=self.shop,
            by=self.staff,
            type=CampaignType.SWAP,
            name="宝妈闲置换换乐",
            starts_at=starts,
            ends_at=starts + timedelta(days=30),
            all_groups=True,
            settings={"listing_days": 30, "offer_hours": 72},
            hook_title="孩子用不上的好东西，换给群里的宝妈",
            hook_text="发布闲置，群友出价或拿自己的闲置来换，当面或邮寄交接",
            proof_text="上个月群里换出 120 多件闲置",
            cta_text="去换物市场",
        )
        campaign = services.schedule_campaign(campaign=campaign, by=self.staff)
        things = [
            ("九成新婴儿推车", "儿童绘本一套", None, "pickup"),
            ("0-3 岁绘本 20 本", "学步鞋 22 码", None, "shipping"),
            ("婴儿床（可拆成沙发）", "", "300", "pickup"),
            ("学步鞋 22 码 两双", "宝宝餐椅", None, "either"),
            ("宝宝餐椅", "", "80", "pickup"),
            ("儿童自行车 12 寸", "滑板车", "150", "pickup"),
            ("奶瓶消毒器", "辅食机", None, "shipping"),
            ("哺乳枕", "", "30", "either"),
        ]
        items = []
        for index, (membership, (title, wanted, price, handover)) in enumerate(zip(people, things, strict=False)):
            at = starts + timedelta(days=index * 0.8, hours=self.rng.uniform(8, 20))
            photos = [_demo_photo(index)] if index % 2 == 0 else []
            items.append(
                swapping.create_listing(
                    campaign=campaign,
                    member=membership.user,
                    group=membership.group,
                    title=title,
                    description="用得很爱惜，孩子大了用不上了",
                    wanted=wanted,
                    price=price,
                    handover=handover,
                    photos=photos,
                    now=at,
                )
            )
        at = starts + timedelta(days=7)
        stroller, books, bed, shoes, chair, bike, _steriliser, _pillow = items
        owner_of = {item.pk: item.owner for item in items}
        done = swapping.make_offer(listing=stroller, member=books.owner, offered_listing=books, now=at)
        swapping.agree(swap=done, member=owner_of[stroller.pk], now=at + timedelta(hours=2))
        swapping.confirm_handover(swap=done, member=owner_of[stroller.pk], now=at + timedelta(days=1))
        swapping.confirm_handover(swap=done, member=books.owner, now=at + timedelta(days=1, hours=3))
        half = swapping.make_offer(
            listing=chair, member=shoes.owner, offered_listing=shoes, now=at + timedelta(hours=5)
        )
        swapping.agree(swap=half, member=owner_of[chair.pk], now=at + timedelta(hours=9))
        swapping.confirm_handover(swap=half, member=shoes.owner, now=at + timedelta(days=2))
        priced = swapping.make_offer(listing=bed, member=bike.owner, price="260", now=at + timedelta(days=1))
        swapping.agree(swap=priced, member=owner_of[bed.pk], now=at + timedelta(days=1, hours=4))
        declined = swapping.make_offer(listing=bike, member=chair.owner, price="60", now=at + timedelta(days=1))
        swapping.decline(swap=declined, member=owner_of[bike.pk], now=at + timedelta(days=1, hours=1))
        stale = swapping.make_offer(listing=bike, member=bed.owner, price="100", now=starts + timedelta(days=5))
        swapping.expire_offers(now=stale.expires_at)
        swapping.report(campaign=campaign, reporter=stroller.owner, listing=bike, reason="价格写错了吧，像是在打广告")

    # --- helpers ------------------------------------------------------------------------------------

    def _friends_for(self, starter: User, n: int) -> list[User]:
        chosen = [u for u in self.friends if u.pk != starter.pk][:n]
        self.friends = [u for u in self.friends if u not in chosen] + chosen  # spread the taps around
        return chosen

    def _delivery(self) -> DeliveryRequest:
        return DeliveryRequest(method="pickup", pickup_point_id=self.point.pk)


def seed_campaigns(*, shop: Shop, staff: User, rng: random.Random, now: datetime) -> None:
    DemoCampaigns(shop=shop, staff=staff, rng=rng, now=now).build()


def seed_contest(*, shop: Shop, staff: User, now: datetime):
    """十日邀请达人赛: an invite contest that ran for the ten days before yesterday over the shop's real
    qualified referrals (so it is seeded after their dates are set), ended by the engine's job and settled
    by the contest's: its final ranking frozen and its prizes granted (points, cash commission), any winner
    with an open fraud flag held for review."""
    from .types.contest import kind as contest

    campaign = services.create_campaign(
        shop=shop,
        by=staff,
        type=CampaignType.CONTEST,
        name="十日邀请达人赛",
        starts_at=now - timedelta(days=11),
        ends_at=now - timedelta(days=1),
        all_groups=True,
        settings={
            "metric": "qualified",
            "tiers": "1 积分 500\n2-3 现金 20\n4-10 积分 100",
            "minimum": "1",
            "rules": "活动期间，每邀请一位好友入群并完成首单，计 1 位合格邀请；成绩相同，先达到者排名在前。"
            "结束后统一结算，有风控标记的获奖人审核后发放。",
        },
        hook_title="十日邀请达人赛，前三名赢现金",
        hook_text="邀请好友入群下单，冲榜赢积分和现金奖励",
        cta_text="查看排行榜",
    )
    services.schedule_campaign(campaign=campaign, by=staff)
    services.end_due(now=now)
    contest.settle(campaign, now=now)
    return campaign


def delete_campaigns(shop: Shop) -> None:
    """Campaign orders protect their campaign (and seats their orders), coupons their template, owed items
    their orders: the demo reset removes them first."""
    from orders.models import FulfilmentItem

    from .models import Campaign, CampaignOrder, Coupon

    campaigns = Campaign.objects.filter(shop=shop)
    CampaignOrder.objects.filter(campaign__in=campaigns).delete()
    Coupon.objects.filter(campaign__in=campaigns).delete()
    FulfilmentItem.objects.filter(shop=shop).delete()  # a claimed gift's owed item protects its order
    campaigns.delete()


def _demo_photo(index: int):
    """A plain photo-like picture for a demo listing (the upload gate stores it as any upload)."""
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw

    colours = [(236, 200, 180), (180, 210, 230), (210, 230, 190), (240, 220, 150)]
    picture = Image.new("RGB", (480, 360), colours[index % len(colours)])
    ImageDraw.Draw(picture).rounded_rectangle((120, 90, 360, 270), radius=40, fill=(255, 255, 255))
    out = BytesIO()
    picture.save(out, format="PNG")
    return SimpleUploadedFile(f"item-{index}.png", out.getvalue(), content_type="image/png")
