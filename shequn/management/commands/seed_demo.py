"""manage.py seed_demo: a believable demo shop, built only through the services.

Everything with a rule behind it (seats, link uses, referral edges, lifecycle moves, roles, approvals)
is written by shops.services, groups.services and groups.lifecycle, exactly as real requests would
write it. The story runs on a virtual clock over the last six weeks, event by event in time order, so
later joiners come through earlier members' personal links (invite chains) and a series rolls over
into its next group when one fills. The services stamp "now"; only those timestamps are moved back
at the end, so the dashboard shows joins spread over time rather than all made a second ago.

Nothing leaves the site: every person made here is a demo account (`User.is_demo`), whom SMS and the
notification channels never reach (their made-up numbers may be real people's). Referral events,
edges and rewards carry the moments of the acts they describe. The shop's staff made the series codes
and channel links, so joins through those are the channels' (referrals never credit staff); members'
own links make the invite chains. On top: reward rules, running 拼/帮/砍 campaigns (campaigns.demo) with
their share pages' visits and the joins they brought (campaigns.demo_visits), and what the fraud review
finds (a member signing friends up on her own phone), so every dashboard page has something real.

Idempotent: when the demo shop exists it prints the login and stops; --reset deletes it (and the
people who exist only for it) and builds it again. Deterministic for a given --seed.

It lives in the project package, not an app, because it drives every app: the groups story here,
then the catalog and order history from orders.demo.
"""

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from analytics.facts import rebuild_shop
from campaigns.demo import delete_campaigns, seed_campaigns, seed_contest
from campaigns.demo_visits import seed_campaign_visits
from campaigns.models import CampaignAct
from groups.jobs import last_complete_week, take_health_snapshots
from groups.jobs import week_of as health_week_of
from groups.lifecycle import transition_group
from groups.models import (
    Channel,
    Group,
    GroupSeries,
    GroupState,
    GroupTransition,
    InviteLink,
    LinkVisit,
    MemberActivity,
    MemberRole,
    Membership,
    MembershipStatus,
    Purpose,
    Tag,
    Threshold,
)
from groups.qr import MissingCJKFont, find_cjk_font
from groups.services import (
    Client,
    LinkOptions,
    add_member,
    approve,
    ban,
    create_group,
    create_link,
    create_series,
    join_via_link,
    leave,
    paid_entry_target,
    personal_link,
    record_link_open,
    record_link_sign_in,
    reject,
    remove,
    set_member_tags,
    set_role,
)
from groups.space_demo import seed_space
from orders.demo import delete_orders, pay_in_process, seed_orders
from orders.entry import place_entry_order
from orders.models import Order, OrderTransition, Payment
from playbooks.demo import seed_playbooks
from referrals import fraud
from referrals import leaderboards as lb
from referrals.models import CommissionAccount, ReferralEdge, ReferralEvent, Reward, RewardKind
from referrals.services import RewardRuleInput, period_start, referral_settings, save_reward_rule
from segments.demo import seed_segments
from segments.models import Broadcast
from shops.models import Operator, OperatorRole, Shop
from shops.services import add_operator, create_shop

DEMO_SLUG = "demo"
DEMO_SHOP_NAME = "好物社 (demo)"
DEMO_PASSWORD = "shequn-demo-2026"
OWNER_EMAIL = "owner@demo.shequn"
OPERATOR_EMAIL = "ops@demo.shequn"
VIEWER_EMAIL = "viewer@demo.shequn"
SHOWCASE_SERIES = "宝宝辅食交流"  # its public code is the invite link printed at the end

STORY_DAYS = 45  # the shop opens this many days ago
LEAVE_RATE = 0.05  # share of members who leave again some days after joining

RULES = (
    "1. 禁止发布广告、外部链接和低俗内容；\n"
    "2. 违者先警告，再次违反将被移出群聊；\n"
    "3. 有问题请 @ 群管理，工作时间 5 分钟内回复；\n"
    "4. 友善交流，尊重每一位群友。"
)
TAG_NAMES = ("宝妈", "护肤", "大客户", "复购", "新客", "辅食", "美食", "体验官")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_NAMES = (
    "静",
    "敏",
    "丽",
    "婷",
    "雪",
    "芳",
    "娜",
    "燕",
    "霞",
    "玲",
    "慧",
    "颖",
    "洁",
    "琳",
    "倩",
    "萍",
    "晶",
    "云",
    "桂英",
    "秀英",
    "晓燕",
    "丹丹",
    "佳怡",
    "欣怡",
    "梓涵",
    "雨桐",
    "思琪",
    "可欣",
    "婉清",
    "诗雨",
    "美玲",
    "春梅",
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "浩然",
    "子轩",
    "宇航",
    "俊杰",
    "一鸣",
    "志强",
)
KID_NAMES = ("豆豆", "乐乐", "果果", "糖糖", "朵朵", "小宝", "嘟嘟", "团团", "米粒", "安安", "可可", "多多")
DISHES = (
    "番茄炖牛腩：牛腩焯水后和番茄小火炖两小时，汤汁浓稠，孩子拌饭吃了两碗。",
    "清蒸鲈鱼：鱼身划刀塞姜丝，大火蒸 8 分钟，淋热油和蒸鱼豉油。",
    "可乐鸡翅：鸡翅两面煎黄，加可乐和生抽收汁，颜色红亮。",
    "手擀葱油拌面：现熬葱油，面条过凉水，拌上老抽和白糖。",
    "蒜蓉粉丝蒸扇贝：粉丝垫底，蒜蓉用一半生一半熟，蒸 6 分钟。",
    "地三鲜：茄子土豆青椒分别过油，最后勾薄芡，照片里油光发亮。",
    "南瓜小米粥：老南瓜切块和小米一起熬 40 分钟，特别适合早餐。",
    "红烧排骨：冰糖炒糖色，排骨上色后加开水焖 40 分钟。",
    "西红柿炒蛋：鸡蛋炒到七成熟盛出，番茄出汁后回锅，加一点点糖。",
    "虾仁蒸蛋：蛋液和温水 1:1.5 过筛，盖保鲜膜蒸 10 分钟，表面像镜子。",
)


class Source(NamedTuple):
    """A traffic source: an operator channel link (or the series' public code), and how often it brings people."""

    channel: str
    label: str
    weight: int
    max_uses: int | None = None


@dataclass
class Plan:
    """One group or series (群活码) and the story of how people joined it."""

    key: str
    name: str
    group_settings: dict
    opens: float  # days ago
    closes: float = 0.0  # days ago of the last join
    joins: int = 0
    rotation: int | None = None  # set for a series
    owner: str = "operator"  # who is 群主: "owner", "operator" (shop staff) or "kol" (a member)
    tags: tuple[str, ...] = ()
    member_tags: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    reuse: float = 0.1  # share of joiners who are already in another of the shop's groups
    referral: float = 0.55  # share of joiners who come through a member's personal link
    moves: tuple[tuple[float, str], ...] = ()  # (days ago, state) for its first group
    answers: tuple[str, ...] = ()
    approve_rate: float = 0.9
    decide_within: tuple[float, float] = (0.05, 1.2)  # days from request to the operator's decision
    reject_reason: str = ""
    moderation: tuple[tuple[float, str, str], ...] = ()  # (days ago, "remove" | "ban", reason)
    # Filled in while the story runs.
    target: Group | GroupSeries | None = None
    groups: dict[int, Group] = field(default_factory=dict)
    links: list[tuple[InviteLink, Source]] = field(default_factory=list)
    active: list[Membership] = field(default_factory=list)  # ordinary members now in, joined through links
    ever: set[int] = field(default_factory=set)  # users who have a membership row in the target


def demo_plans() -> list[Plan]:
    """The demo's groups: every lifecycle state and every kind of threshold, in believable proportions."""
    return [
        Plan(
            key="snack",
            name="9.9元零食尝鲜团",
            opens=42,
            closes=37.5,
            joins=48,
            group_settings=dict(
                purpose=Purpose.SALES,
                kind="产品",
                capacity=200,
                threshold=Threshold.PAID,
                entry_price=Decimal("9.90"),
                rules=RULES,
                description="新客专享：9.9 元入群，3 款人气零食试吃装包邮到家，群内每晚 8 点限时拼团。",
            ),
            tags=("新客",),
            member_tags=("新客",),
            reuse=0.0,
            referral=0.45,
            sources=(
                Source(Channel.PARCEL_CARD, "包裹卡·老订单", 3),
                Source(Channel.POSTER, "朋友圈海报", 2),
                Source(Channel.SELF_MEDIA, "小红书笔记", 1),
            ),
            moves=(
                (42, GroupState.RECRUITING),
                (40, GroupState.ACTIVE),
                (36, GroupState.COOLING),
                (33, GroupState.ARCHIVED),
            ),
            approve_rate=0.94,
            decide_within=(0.01, 0.2),
            reject_reason="超时未支付",
        ),
        Plan(
            key="cooking",
            name="家常菜作品群",
            opens=30,
            closes=6,
            joins=50,
            owner="kol",
            group_settings=dict(
                purpose=Purpose.BRAND,
                kind="兴趣",
                capacity=150,
                threshold=Threshold.SUBMISSION,
                entry_question="请上传你做的一道菜的照片描述",
                rules=RULES,
                description="晒出你的拿手家常菜，每周评选「本周好菜」，获奖群友送厨房好物一件。",
            ),
            tags=("美食",),
            member_tags=("美食",),
            reuse=0.15,
            referral=0.5,
            sources=(
                Source(Channel.SELF_MEDIA, "抖音短视频", 2),
                Source(Channel.PARTNER_GROUP, "合作群互换·烘焙群", 1),
                Source(Channel.POSTER, "门店海报", 1),
            ),
            moves=((30, GroupState.RECRUITING), (27, GroupState.ACTIVE), (4, GroupState.COOLING)),
            answers=tuple(f"照片：{dish}" for dish in DISHES),
            approve_rate=0.86,
            reject_reason="描述太简单，请补充做法后再申请",
            moderation=((15, "remove", "发布广告，警告后仍未改正"),),
        ),
        Plan(
            key="baby",
            name=SHOWCASE_SERIES,
            opens=28,
            closes=0.05,
            joins=128,
            rotation=45,
            group_settings=dict(
                purpose=Purpose.SALES,
                kind="兴趣",
                capacity=60,
                threshold=Threshold.OPEN,
                rules=RULES,
                description="6 个月到 3 岁宝宝的辅食做法、食材挑选和喂养经验交流，营养师每周二晚 8 点微课。",
            ),
            tags=("宝妈", "辅食"),
            member_tags=("宝妈", "辅食"),
            reuse=0.1,
            referral=0.6,
            sources=(
                Source(Channel.SERIES_CODE, "", 2),
                Source(Channel.POSTER, "社区海报", 2),
                Source(Channel.OFFLINE, "线下母婴店快闪 限 30 人", 2, max_uses=30),
                Source(Channel.PARTNER_GROUP, "合作群互换·早教群", 1),
            ),
            moderation=(
                (21, "ban", "多次发布外部链接，两次警告无效"),
                (17, "remove", "发布微商广告，警告后仍未改正"),
                (9, "remove", "私加群友推销产品"),
            ),
        ),
        Plan(
            key="vip",
            name="大客户专享群",
            opens=24,
            closes=0.3,
            joins=32,
            owner="owner",
            group_settings=dict(
                purpose=Purpose.SALES,
                kind="会员",
                capacity=100,
                threshold=Threshold.APPROVAL,
                entry_question="请填写最近一笔订单号的后四位，方便核对会员等级",
                rules=RULES,
                description="年消费满 3000 元的老客户专属：新品优先试用、一对一专属客服、每月 18 日会员日。",
            ),
            tags=("大客户", "复购"),
            member_tags=("大客户",),
            reuse=0.8,
            referral=0.3,
            sources=(
                Source(Channel.EXISTING_CUSTOMER, "老客户短信邀请", 3),
                Source(Channel.OPERATOR, "客服一对一邀请", 1),
            ),
            moves=((24, GroupState.RECRUITING), (20, GroupState.ACTIVE)),
            answers=("订单尾号 {n}", "最近一单尾号是 {n}", "{n}，上个月买的面霜套装"),
            approve_rate=0.88,
            decide_within=(0.1, 3.0),
            reject_reason="未查到对应订单，请联系客服核对",
        ),
        Plan(
            key="skin",
            name="护肤打卡营",
            opens=14,
            closes=0.02,
            joins=75,
            rotation=100,
            group_settings=dict(
                purpose=Purpose.SALES,
                kind="学习",
                capacity=120,
                threshold=Threshold.APPROVAL,
                entry_question="你的肤质是？（干皮 / 油皮 / 混合 / 敏感）",
                rules=RULES,
                description="21 天护肤打卡：每天早晚打卡护肤步骤，坚持满 21 天送正装小样一份。",
            ),
            tags=("护肤",),
            member_tags=("护肤",),
            reuse=0.25,
            referral=0.55,
            sources=(
                Source(Channel.SERIES_CODE, "", 1),
                Source(Channel.SELF_MEDIA, "公众号推文", 2),
                Source(Channel.POSTER, "朋友圈海报", 1),
            ),
            moves=((10, GroupState.ACTIVE),),
            answers=("干皮，冬天起皮", "油皮，T 区容易出油", "混合皮", "敏感肌，换季泛红", "混油皮，有闭口"),
            approve_rate=0.9,
            decide_within=(0.05, 2.5),
            reject_reason="资料不完整，请补充后再申请",
        ),
        Plan(
            key="preview",
            name="秋冬护肤新品体验群",
            opens=2,
            owner="owner",
            group_settings=dict(
                purpose=Purpose.BRAND,
                kind="产品",
                capacity=30,
                threshold=Threshold.APPROVAL,
                entry_question="体验后愿意写一篇真实的使用反馈吗？",
                rules=RULES,
                description="秋冬修护霜新品内测：首批 30 位体验官免费领取正装，分享真实使用感受。",
            ),
            tags=("护肤", "体验官"),
        ),
    ]


class DemoBuilder:
    """Runs the demo story through the services, in time order, then moves the timestamps back."""

    def __init__(self, *, seed: int):
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.start = self.now - timedelta(days=STORY_DAYS)
        self.clock = self.start
        self.events: list = []
        self.seq = itertools.count()
        self.plans = {plan.key: plan for plan in demo_plans()}
        self.link_uses: Counter[int] = Counter()
        self.invites_made: Counter[int] = Counter()
        self.people_made: list[User] = []
        self.customers: list[User] = []  # people already in one of the shop's groups, first come first
        self.customer_ids: set[int] = set()
        self.banned: set[int] = set()
        self.personal_links: dict[tuple[int, str], InviteLink] = {}
        self.tags: dict[str, Tag] = {}
        self._phones: list[str] = []
        # What really happened when, written back over the services' "now" at the end.
        self.member_times: dict[int, dict[str, datetime]] = {}
        self.group_born: dict[int, datetime] = {}
        self.series_born: dict[int, datetime] = {}
        self.link_born: dict[int, datetime] = {}
        self.user_born: dict[int, datetime] = {}
        self.moved_at: dict[tuple[int, str], datetime] = {}
        self.event_marks: list[tuple[int, datetime]] = []  # (last referral event id, when) after each act
        self.visit_marks: list[tuple[int, datetime]] = []  # (last link visit id, when) after each act

    # --- the story ----------------------------------------------------------------------------

    def build(self) -> Shop:
        self._shop_and_staff()
        self._reward_rules()
        self.tags = {name: Tag.objects.create(shop=self.shop, name=name) for name in TAG_NAMES}
        self._phones = self._free_phones(600)
        for plan in self.plans.values():
            self._schedule(plan)
        self._at(0.4, self._shared_phone, self.plans["baby"])
        self.event_marks.append((self._last_event_id(), self.start))
        self.visit_marks.append((self._last_visit_id(), self.start))
        while self.events:
            at, _seq, action, args = heapq.heappop(self.events)
            self.clock = at
            action(*args)
            self.event_marks.append((self._last_event_id(), at))
            self.visit_marks.append((self._last_visit_id(), at))
        self._give_roles()
        self._tag_members()
        self._write_back_times()
        return self.shop

    def _shop_and_staff(self) -> None:
        owner = User.objects.filter(email__iexact=OWNER_EMAIL).first() or User.objects.create_user(
            username=OWNER_EMAIL, email=OWNER_EMAIL, display_name="林晓"
        )
        self.shop = create_shop(name=DEMO_SHOP_NAME, slug=DEMO_SLUG, owner=owner)
        self.owner = owner
        self.operator = add_operator(
            shop=self.shop, by=owner, email=OPERATOR_EMAIL, role=OperatorRole.OPERATOR, display_name="周小舟"
        ).user
        self.viewer = add_operator(
            shop=self.shop, by=owner, email=VIEWER_EMAIL, role=OperatorRole.VIEWER, display_name="何静（财务）"
        ).user
        # One hash for the three demo logins: hashing is the slow part of creating them. Their addresses
        # are made up too: nothing is ever sent to them.
        User.objects.filter(pk__in=[owner.pk, self.operator.pk, self.viewer.pk]).update(
            password=make_password(DEMO_PASSWORD), is_demo=True
        )
        for user in (owner, self.operator, self.viewer):
            self.user_born[user.pk] = self.start

    def _reward_rules(self) -> None:
        """What inviters earn for a referral that qualifies (a paid order): points and a commission."""
        save_reward_rule(
            shop=self.shop, by=self.owner, data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100"))
        )
        save_reward_rule(
            shop=self.shop,
            by=self.owner,
            data=RewardRuleInput(kind=RewardKind.COMMISSION, amount=Decimal("2.00"), commission_rate=Decimal("0.05")),
        )

    def _last_visit_id(self) -> int:
        return LinkVisit.objects.filter(shop=self.shop).order_by("-pk").values_list("pk", flat=True).first() or 0

    def _last_event_id(self) -> int:
        return ReferralEvent.objects.filter(shop=self.shop).order_by("-pk").values_list("pk", flat=True).first() or 0

    def _shared_phone(self, plan: Plan) -> None:
        """What the fraud review should catch: within the hour, four "friends" join through one member's
        link from her own phone (one device, one address in the documentation range 203.0.113.0/24)."""
        if not plan.active:
            return
        inviter = self.rng.choice(plan.active).user
        link = self._personal_link(plan, inviter)
        phone = Client(ip="203.0.113.58", device=f"demo-device-{inviter.pk}")
        for minutes in (0, 9, 23, 41):
            self.clock += timedelta(minutes=minutes)
            person = self._new_person(mum=True)
            record_link_open(link, user=person, client=phone)
            record_link_sign_in(link)
            membership = join_via_link(user=person, code=link.code, client=phone)
            self.invites_made[inviter.pk] += 1
            self.link_uses[link.pk] += 1
            plan.ever.add(person.pk)
            if membership.group_id not in plan.groups:
                self._series_group_opened(plan, membership.group)
            self.member_times[membership.pk] = {"requested_at": self.clock}
            self._activated(plan, membership)
            self.event_marks.append((self._last_event_id(), self.clock))

    def _schedule(self, plan: Plan) -> None:
        self._at(plan.opens, self._open, plan)
        for days_ago, state in plan.moves:
            self._at(days_ago, self._move, plan, state)
        for _i in range(plan.joins):
            self._at(self.rng.uniform(plan.closes, plan.opens - 0.05), self._join, plan)
        for days_ago, action, reason in plan.moderation:
            self._at(days_ago, self._moderate, plan, action, reason)
        if plan.key == "preview":
            self._at(plan.opens - 0.5, self._seed_preview, plan)

    def _at(self, when: float | datetime, action, *args) -> None:
        """Schedule an action at a time (days ago, or a datetime); what would happen after now never does."""
        at = when if isinstance(when, datetime) else self.now - timedelta(days=when)
        if at <= self.now:
            heapq.heappush(self.events, (at, next(self.seq), action, args))

    def _open(self, plan: Plan) -> None:
        owner = {"owner": self.owner, "operator": self.operator}.get(plan.owner)
        tags = [self.tags[name] for name in plan.tags]
        if plan.rotation:
            series = create_series(
                shop=self.shop,
                name=plan.name,
                rotation_threshold=plan.rotation,
                tags=tags,
                by=self.operator,
                **plan.group_settings,
            )
            plan.target = series
            self.series_born[series.pk] = self.clock
            public_code = InviteLink.objects.get(series=series, channel=Channel.SERIES_CODE, is_personal=False)
            self.link_born[public_code.pk] = self.clock
            plan.links += [(public_code, s) for s in plan.sources if s.channel == Channel.SERIES_CODE]
            self._series_group_opened(plan, series.groups.get())
        else:
            if plan.owner == "kol":
                owner = self._new_person(name="美食达人陈姐")
                self._became_customer(owner)
            group = create_group(
                shop=self.shop, name=plan.name, by=self.operator, tags=tags, owner=owner, **plan.group_settings
            )
            plan.target = group
            self._group_born(plan, group)
            self._stamp_direct(Membership.objects.get(group=group, user=owner))
        for source in plan.sources:
            if source.channel == Channel.SERIES_CODE:
                continue
            target = {"series": plan.target} if plan.rotation else {"group": plan.target}
            link = create_link(
                shop=self.shop,
                by=self.operator,
                inviter=self.operator,
                **target,
                options=LinkOptions(channel=source.channel, label=source.label, max_uses=source.max_uses),
            )
            self.link_born[link.pk] = self.clock
            plan.links.append((link, source))

    def _group_born(self, plan: Plan, group: Group) -> None:
        plan.groups[group.pk] = group
        self.group_born[group.pk] = self.clock

    def _series_group_opened(self, plan: Plan, group: Group) -> None:
        """A series filled its groups and opened the next one: staff takes it over, the full ones go active."""
        self._group_born(plan, group)
        self._stamp_direct(add_member(group=group, user=self.operator, by=self.operator, role=MemberRole.OWNER))
        for other in plan.groups.values():
            if other.pk != group.pk and other.state == GroupState.RECRUITING:
                self._transition(other, GroupState.ACTIVE, "群已满，转入活跃运营")

    def _move(self, plan: Plan, state: str) -> None:
        self._transition(next(iter(plan.groups.values())), state, "按运营计划推进")

    def _transition(self, group: Group, state: str, reason: str) -> None:
        transition_group(group=group, to_state=state, by=self.operator, reason=reason)
        self.moved_at[(group.pk, state)] = self.clock

    # --- joining --------------------------------------------------------------------------------

    def _join(self, plan: Plan) -> None:
        person = self._pick_person(plan)
        link = self._pick_link(plan)
        self._funnel(link, person)
        answer = self.rng.choice(plan.answers).format(n=self.rng.randint(1000, 9999)) if plan.answers else ""
        if link.target.threshold == Threshold.PAID:
            membership = self._pay_entry(person, link)
        else:
            membership = join_via_link(user=person, code=link.code, answer=answer)
        self.link_uses[link.pk] += 1
        plan.ever.add(person.pk)
        if membership.group_id not in plan.groups:  # the join rolled the series over into a new group
            self._series_group_opened(plan, membership.group)
        self.member_times[membership.pk] = {"requested_at": self.clock}
        if membership.status == MembershipStatus.ACTIVE:
            self._activated(plan, membership)
        else:
            wait = self.rng.uniform(*plan.decide_within)
            self._at(self.clock + timedelta(days=wait), self._decide, plan, membership)

    def _pay_entry(self, person: User, link: InviteLink) -> Membership:
        """A paid group: the member pays the entry fee (on the demo's simulated cashier) and is in."""
        group, link = paid_entry_target(user=person, code=link.code)
        order = place_entry_order(member=person, group=group, link=link)
        pay_in_process(order)
        Order.objects.filter(pk=order.pk).update(
            created_at=self.clock, paid_at=self.clock, pay_deadline=self.clock + timedelta(minutes=30)
        )
        OrderTransition.objects.filter(order=order).update(at=self.clock)
        Payment.objects.filter(order=order).update(created_at=self.clock, succeeded_at=self.clock)
        return Membership.objects.select_related("group").get(
            user=person, status=MembershipStatus.ACTIVE, group__in=[group.pk, *self._series_groups(link)]
        )

    def _series_groups(self, link: InviteLink) -> list[int]:
        return (
            list(Group.objects.filter(series_id=link.series_id).values_list("pk", flat=True)) if link.series_id else []
        )

    def _pick_person(self, plan: Plan) -> User:
        if self.rng.random() < plan.reuse:
            candidates = [u for u in self.customers if u.pk not in plan.ever and u.pk not in self.banned]
            if candidates:
                return self.rng.choice(candidates)
        return self._new_person(mum=plan.key == "baby")

    def _pick_link(self, plan: Plan) -> InviteLink:
        """A member's personal link (most joins: that is how chains grow), else an operator channel."""
        if plan.active and self.rng.random() < plan.referral:
            # Those who already brought friends are likelier to bring more (a few super-inviters).
            weights = [1 + 2 * self.invites_made[m.user_id] for m in plan.active]
            inviter = self.rng.choices(plan.active, weights=weights)[0].user
            self.invites_made[inviter.pk] += 1
            return self._personal_link(plan, inviter)
        usable = [(link, s) for link, s in plan.links if s.max_uses is None or self.link_uses[link.pk] < s.max_uses]
        return self.rng.choices([link for link, _s in usable], weights=[s.weight for _l, s in usable])[0]

    def _personal_link(self, plan: Plan, inviter: User) -> InviteLink:
        key = (inviter.pk, plan.key)
        if key not in self.personal_links:
            target = {"series": plan.target} if plan.rotation else {"group": plan.target}
            link = personal_link(user=inviter, **target)
            self.link_born.setdefault(link.pk, self.clock)
            self.personal_links[key] = link
        return self.personal_links[key]

    def _funnel(self, link: InviteLink, person: User) -> None:
        """Opens ≥ sign-ins ≥ joins: some who open the link never sign in, some who sign in never join.
        The joiner opens it signed out and signs in (a dated sign-in for the analytics funnel)."""
        record_link_open(link)
        record_link_sign_in(link, user=person)
        if self.rng.random() < 0.4:
            record_link_open(link)
            if self.rng.random() < 0.3:
                record_link_sign_in(link)

    def _activated(self, plan: Plan, membership: Membership) -> None:
        times = self.member_times.setdefault(membership.pk, {"requested_at": self.clock})
        times["joined_at"] = self.clock
        times.setdefault("first_joined_at", self.clock)
        plan.active.append(membership)
        self._became_customer(membership.user)
        if self.rng.random() < LEAVE_RATE:
            self._at(self.clock + timedelta(days=self.rng.uniform(1, 12)), self._leave, plan, membership)

    def _became_customer(self, user: User) -> None:
        if user.pk not in self.customer_ids:
            self.customer_ids.add(user.pk)
            self.customers.append(user)

    def _decide(self, plan: Plan, membership: Membership) -> None:
        if self.rng.random() < plan.approve_rate:
            approved = approve(membership=membership, by=self.operator)
            approved.user = membership.user  # already loaded: spare a query
            self._activated(plan, approved)
        else:
            reject(membership=membership, by=self.operator, reason=plan.reject_reason)
            self.link_uses[membership.invite_link_id] -= 1  # the service gave the use back

    def _leave(self, plan: Plan, membership: Membership) -> None:
        if membership in plan.active:
            plan.active.remove(membership)
            leave(membership=membership)
            self.member_times[membership.pk]["left_at"] = self.clock

    def _moderate(self, plan: Plan, action: str, reason: str) -> None:
        if not plan.active:
            return
        membership = self.rng.choice(plan.active)
        plan.active.remove(membership)
        if action == "ban":
            ban(membership=membership, by=self.operator, reason=reason)
            self.banned.add(membership.user_id)
        else:
            remove(membership=membership, by=self.operator, reason=reason)
        self.member_times[membership.pk]["left_at"] = self.clock

    def _seed_preview(self, plan: Plan) -> None:
        """A group still preparing gathers its seed users first: keen members of the skin-care camp."""
        group = next(iter(plan.groups.values()))
        keen = sorted(self.plans["skin"].active, key=lambda m: -self.invites_made[m.user_id])[:5]
        for membership in keen:
            self._stamp_direct(add_member(group=group, user=membership.user, by=self.owner, role=MemberRole.CORE))

    def _stamp_direct(self, membership: Membership) -> None:
        self.member_times[membership.pk] = dict.fromkeys(("requested_at", "joined_at", "first_joined_at"), self.clock)

    # --- people ---------------------------------------------------------------------------------

    def _free_phones(self, count: int) -> list[str]:
        candidates = [f"+86138{n:08d}" for n in self.rng.sample(range(10**8), count)]
        taken = set(User.objects.filter(phone__in=candidates).values_list("phone", flat=True))
        return [phone for phone in candidates if phone not in taken]

    def _new_person(self, *, name: str = "", mum: bool = False) -> User:
        user = User.objects.create_member(
            phone=self._phones.pop(), display_name=name or self._nickname(mum), is_demo=True
        )
        self.people_made.append(user)
        self.user_born[user.pk] = self.clock
        return user

    def _nickname(self, mum: bool) -> str:
        rng = self.rng
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        roll = rng.random()
        if mum and roll < 0.45:
            return f"{rng.choice(KID_NAMES)}妈妈"
        if roll < 0.08:
            return f"{surname}姐"
        if roll < 0.14:
            return f"{given}{rng.choice(('呀', '同学', '酱'))}"
        return f"{surname}{given}"

    # --- finishing touches ----------------------------------------------------------------------

    def _give_roles(self) -> None:
        """In each group: the two earliest members help moderate, the best inviters are core members."""
        for plan in self.plans.values():
            by_group: dict[int, list[Membership]] = {}
            for membership in plan.active:
                by_group.setdefault(membership.group_id, []).append(membership)
            for members in by_group.values():
                admins = members[:2]
                rest = members[2:]
                rest.sort(key=lambda m: -self.invites_made[m.user_id])
                core = [m for m in rest[:3] if self.invites_made[m.user_id]]
                lively = [m for m in rest[3:] if self.rng.random() < 0.15]
                for role, chosen in ((MemberRole.ADMIN, admins), (MemberRole.CORE, core), (MemberRole.ACTIVE, lively)):
                    for membership in chosen:
                        set_role(membership=membership, by=self.operator, role=role)

    def _tag_members(self) -> None:
        plan_of_group = {gid: plan for plan in self.plans.values() for gid in plan.groups}
        memberships = list(
            Membership.objects.filter(
                group__shop=self.shop, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING]
            )
            .select_related("group")
            .order_by("pk")
        )
        groups_of = Counter(m.user_id for m in memberships)
        vip_group = next(iter(self.plans["vip"].groups))
        vips = {m.user_id for m in memberships if m.group_id == vip_group and m.status == MembershipStatus.ACTIVE}
        recent = self.now - timedelta(days=14)
        for membership in memberships:
            plan = plan_of_group[membership.group_id]
            names = [name for name in plan.member_tags if self.rng.random() < 0.75]
            if groups_of[membership.user_id] > 1:
                names.append("复购")
            if membership.user_id in vips:
                names.append("大客户")
            if groups_of[membership.user_id] == 1 and self.member_times[membership.pk]["requested_at"] >= recent:
                names.append("新客")
            if names:
                set_member_tags(
                    membership=membership, by=self.operator, tags=[self.tags[n] for n in dict.fromkeys(names)]
                )

    def _write_back_times(self) -> None:
        """Move the services' "now" back to when each thing happened in the story."""
        rng, shop = self.rng, self.shop
        memberships = list(Membership.objects.filter(group__shop=shop).order_by("pk"))
        first_join = {}
        for m in memberships:
            for name, value in self.member_times[m.pk].items():
                setattr(m, name, value)
            if m.status == MembershipStatus.ACTIVE:  # seen at some point since joining, mostly lately
                m.last_active_at = m.joined_at + (self.now - m.joined_at) * (1 - rng.random() ** 3)
            else:
                m.last_active_at = m.left_at or m.requested_at
            first_join[(m.group_id, m.user_id)] = m.first_joined_at
        Membership.objects.bulk_update(
            memberships, ["requested_at", "joined_at", "first_joined_at", "left_at", "last_active_at"], batch_size=200
        )

        edges = list(ReferralEdge.objects.filter(shop=shop))
        for edge in edges:
            edge.created_at = first_join[(edge.group_id, edge.invitee_id)]
        ReferralEdge.objects.bulk_update(edges, ["created_at"], batch_size=200)
        # Each referral event (a link opened, a join) and link visit happened at the moment of the act that
        # recorded it.
        _date_by_marks(ReferralEvent.objects.filter(shop=shop), "occurred_at", self.event_marks)
        _date_by_marks(LinkVisit.objects.filter(shop=shop), "at", self.visit_marks)

        transitions = list(GroupTransition.objects.filter(group__shop=shop))
        for move in transitions:  # a series' own "open the next group" moves happen when the group is born
            move.at = self.moved_at.get((move.group_id, move.to_state), self.group_born[move.group_id])
        GroupTransition.objects.bulk_update(transitions, ["at"], batch_size=200)

        groups = list(Group.objects.filter(shop=shop))
        for group in groups:
            group.created_at = self.group_born[group.pk]
        Group.objects.bulk_update(groups, ["created_at"])
        series = list(GroupSeries.objects.filter(shop=shop))
        for one in series:
            one.created_at = self.series_born[one.pk]
        GroupSeries.objects.bulk_update(series, ["created_at"])
        links = list(InviteLink.objects.filter(shop=shop))
        for link in links:
            link.created_at = self.link_born[link.pk]
        InviteLink.objects.bulk_update(links, ["created_at"], batch_size=200)

        users = list(User.objects.filter(pk__in=self.user_born))
        for user in users:
            user.date_joined = self.user_born[user.pk]
        User.objects.bulk_update(users, ["date_joined"], batch_size=200)
        Shop.objects.filter(pk=shop.pk).update(created_at=self.start)
        Operator.objects.filter(shop=shop).update(created_at=self.start)


def _date_by_marks(rows, field: str, marks: list[tuple[int, datetime]]) -> None:
    """Rows made by each act (ids up to its mark, after the previous one's) take the act's time."""
    done = 0
    for last, at in marks:
        if last > done:
            rows.filter(pk__gt=done, pk__lte=last).update(**{field: at})
            done = last


def date_order_referrals(shop: Shop) -> None:
    """Order events, qualifications and rewards happened when their order was paid (orders.demo moved
    paid_at back over the story); a reward falls due a review period after its qualification."""
    events = list(ReferralEvent.objects.filter(shop=shop, order__isnull=False).select_related("order"))
    for event in events:
        event.occurred_at = event.order.paid_at or event.order.created_at
    ReferralEvent.objects.bulk_update(events, ["occurred_at"], batch_size=200)
    edges = list(
        ReferralEdge.objects.filter(shop=shop, qualifying_order__isnull=False).select_related("qualifying_order")
    )
    for edge in edges:
        edge.qualified_at = edge.qualifying_order.paid_at
    ReferralEdge.objects.bulk_update(edges, ["qualified_at"], batch_size=200)
    review = timedelta(days=referral_settings(shop.pk).review_days)
    rewards = list(Reward.objects.filter(shop=shop, event__isnull=False).select_related("event", "rule"))
    for reward in rewards:
        reward.created_at = reward.event.occurred_at
        reward.due_at = reward.created_at + review
        reward.period_start = period_start(reward.rule.cap_period, reward.created_at)
    Reward.objects.bulk_update(rewards, ["created_at", "due_at", "period_start"], batch_size=200)


def date_activity(shop: Shop) -> None:
    """Members' activity happened with the act that recorded it (a join, a paid order, a campaign act), not
    when the story was written down: cohorts, active members and the health snapshots read these times."""
    activities = list(MemberActivity.objects.filter(group__shop=shop).exclude(ref=""))
    ids = {"order": set(), "membership": set(), "act": set()}
    for a in activities:
        kind, _sep, pk = a.ref.partition(":")
        if kind in ids and pk.isdigit():
            ids[kind].add(int(pk))
    when = {
        "order": dict(
            Order.objects.filter(pk__in=ids["order"])
            .annotate(at=Coalesce("paid_at", "created_at"))
            .values_list("pk", "at")
        ),
        "membership": dict(Membership.objects.filter(pk__in=ids["membership"]).values_list("pk", "joined_at")),
        "act": dict(CampaignAct.objects.filter(pk__in=ids["act"]).values_list("pk", "occurred_at")),
    }
    changed = []
    for a in activities:
        kind, _sep, pk = a.ref.partition(":")
        at = when.get(kind, {}).get(int(pk)) if pk.isdigit() else None
        if at is not None and at != a.at:
            a.at = at
            changed.append(a)
    MemberActivity.objects.bulk_update(changed, ["at"], batch_size=500)


def take_past_health_snapshots(shop: Shop, *, since: datetime) -> None:
    """The weekly health snapshots the Monday job would have taken over the story (the group ranking's
    history), each week's figures read from the back-dated joins, leaves, activity and orders."""
    now = timezone.now()
    week = health_week_of(timezone.localdate(since))
    last = last_complete_week(now)
    while week.start_date <= last.start_date:
        take_health_snapshots(now=now, week=week, shop_id=shop.pk)
        week = health_week_of(week.start_date + timedelta(days=7))


# --- the command ----------------------------------------------------------------------------------


def delete_demo() -> int:
    """Delete the demo shop and the people who exist only for it; returns how many people went.

    A person who is also in another shop's group, or on another shop's staff, is kept.
    """
    shop = Shop.objects.filter(slug=DEMO_SLUG).first()
    if shop is None:
        return 0
    with transaction.atomic():
        people = set(Membership.objects.filter(group__shop=shop).values_list("user_id", flat=True))
        people |= set(Operator.objects.filter(shop=shop).values_list("user_id", flat=True))
        elsewhere = set(
            Membership.objects.filter(user_id__in=people).exclude(group__shop=shop).values_list("user_id", flat=True)
        )
        elsewhere |= set(
            Operator.objects.filter(user_id__in=people).exclude(shop=shop).values_list("user_id", flat=True)
        )
        delete_campaigns(shop)  # campaign orders protect their campaigns, and seats their orders
        delete_orders(shop)
        CommissionAccount.objects.filter(shop=shop).delete()  # its ledger entries protect the rewards they paid
        Reward.objects.filter(shop=shop).delete()  # rewards protect their rules
        Broadcast.objects.filter(shop=shop).delete()  # a broadcast keeps its group
        Group.objects.filter(shop=shop).delete()  # before the shop: a group PROTECTs its series
        shop.delete()
        User.objects.filter(pk__in=people - elsewhere).delete()
    return len(people - elsewhere)


def _cjk_font_or_none() -> str | None:
    """Product pictures carry their Chinese name when a CJK font is installed (as posters need anyway)."""
    try:
        return find_cjk_font()
    except MissingCJKFont:
        return None


def invite_url(link: InviteLink) -> str:
    try:
        return link.public_url
    except NoReverseMatch:  # the member pages are not routed yet: the documented shape of the link
        return f"{settings.SITE_URL}/m/j/{link.code}/"


class Command(BaseCommand):
    help = "Create the demo shop 好物社 (demo) with groups, series, members and invite chains."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo shop and its people, then build it again."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (the same seed, the same demo).")

    def handle(self, *args, reset: bool = False, seed: int = 2026, **options):
        if reset:
            gone = delete_demo()
            self.stdout.write(_("已删除演示店铺及其 %(n)d 位用户。") % {"n": gone})
        shop = Shop.objects.filter(slug=DEMO_SLUG).first()
        if shop is not None:
            self.stdout.write(_("演示店铺已存在，未做任何改动（重建请加 --reset）。"))
        else:
            started = timezone.now()
            with transaction.atomic():
                builder = DemoBuilder(seed=seed)
                shop = builder.build()
                seed_orders(
                    shop=shop,
                    staff=builder.operator,
                    rng=builder.rng,
                    start=builder.start,
                    font_path=_cjk_font_or_none(),
                )
                seed_campaigns(shop=shop, staff=builder.operator, rng=builder.rng, now=timezone.now())
                seed_campaign_visits(shop=shop, rng=builder.rng, now=timezone.now())
                seed_playbooks(shop=shop, staff=builder.operator, now=timezone.now())
                date_order_referrals(shop)
                date_activity(shop)
                take_past_health_snapshots(shop, since=builder.start)
                seed_segments(shop=shop, staff=builder.operator, now=timezone.now())
                seed_space(shop=shop, staff=builder.operator, now=timezone.now())
                fraud.detect(shop_id=shop.pk)
                seed_contest(shop=shop, staff=builder.operator, now=timezone.now())
            if lb.live_enabled():  # the live boards were fed the acts' recording times: redo them from the events
                lb.rebuild_shop(shop.pk, everything=True)
            build_analytics(shop)
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(self.style.SUCCESS(_("演示店铺已创建，用时 %(s).1f 秒。") % {"s": seconds}))
        self._print_summary(shop)

    def _print_summary(self, shop: Shop) -> None:
        memberships = Membership.objects.filter(group__shop=shop)
        counts = memberships.aggregate(
            people=Count("user", distinct=True),
            active=Count("pk", filter=Q(status=MembershipStatus.ACTIVE)),
            pending=Count("pk", filter=Q(status=MembershipStatus.PENDING)),
        )
        link = (
            InviteLink.objects.filter(
                shop=shop,
                series__name=SHOWCASE_SERIES,
                channel=Channel.SERIES_CODE,
                is_personal=False,
                revoked_at__isnull=True,
            )
            .order_by("pk")
            .first()
            or InviteLink.objects.filter(shop=shop, revoked_at__isnull=True).order_by("pk").first()
        )
        # A member worth signing in as: in the showcase series now, and the one who brought the most friends.
        star = (
            User.objects.filter(
                phone__isnull=False,
                memberships__status=MembershipStatus.ACTIVE,
                memberships__group__series__name=SHOWCASE_SERIES,
                memberships__group__shop=shop,
            )
            .annotate(n=Count("referral_edges", filter=Q(referral_edges__shop=shop), distinct=True))
            .order_by("-n", "pk")
            .first()
        )
        lines = [
            "",
            f"  {shop.name}: "
            + _("%(groups)d 个群，%(people)d 位成员（在群 %(active)d，待审核 %(pending)d）")
            % {"groups": shop.groups.count(), **counts},
            "  "
            + _("%(products)d 件商品，%(orders)d 笔订单")
            % {"products": shop.products.count(), "orders": shop.orders.count()},
            "",
            "  " + _("运营后台登录") + f": {settings.SITE_URL}{reverse('account_login')}",
            "    " + _("邮箱") + f": {OWNER_EMAIL}    " + _("密码") + f": {DEMO_PASSWORD}",
            "    " + _("（运营 %(op)s、只读 %(viewer)s 密码相同）") % {"op": OPERATOR_EMAIL, "viewer": VIEWER_EMAIL},
        ]
        if link is not None:
            lines += [
                "",
                "  " + _("成员入群链接（群活码「%(name)s」）") % {"name": link.target_name} + f": {invite_url(link)}",
            ]
        if star is not None:
            lines += [
                "    "
                + _("演示成员手机号: %(phone)s（%(name)s，已在群里；验证码打印在服务器日志里）")
                % {"phone": star.phone, "name": star.public_name},
                "    " + _("用任何其他手机号打开上面的链接，可体验新成员入群。"),
            ]
        self.stdout.write("\n".join(lines) + "\n")


def build_analytics(shop: Shop) -> None:
    """The analytics pages read fact tables; the demo's back-dated history is built into them at once."""
    rebuild_shop(shop_id=shop.pk)
