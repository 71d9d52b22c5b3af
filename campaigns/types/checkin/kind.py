"""打卡 Check-ins: members of the campaign's groups check in once a day inside a daily window, with a
photo, a text or nothing as proof; streaks, make-up cards (补卡) and milestone rewards follow.

Rules and where each is decided:
- the day is the shop's calendar day (Asia/Shanghai, `shop_day`) of the moment of the check-in, and the
  check-in must fall inside the daily window [window_start, window_end) of that day (shop time);
- one check-in per member, campaign and day: a unique constraint on (campaign, member, day). Every write
  of a member's check-ins first locks their standing row (inserted if missing), so a double tap waits,
  finds the day taken and is refused; should anything slip past, the constraint refuses the second row;
- the standing (total days, the streak ending at the last day, the best streak, cards used) is recomputed
  from the member's days under that lock, so a make-up card that fills a gap joins two runs at once;
- make-up cards: `makeup_cards` at the start plus one per `makeup_every_days` real (not made-up) days;
  a card fills a missed day at most `makeup_days_back` days ago, never today, never before the start;
  the count of cards used is decided under the standing's lock, so a card is never spent twice;
- a milestone reward (N consecutive days → points and/or a coupon of a template of the shop) is a row unique
  on (campaign, member, N), inserted
  with ON CONFLICT DO NOTHING when the best streak reaches N: at the check-in and again by the periodic job
  (`settle_milestones`, a repair), so it is granted exactly once however many runs race;
- each check-in is activity in its group (groups.activity: lurker detection) and a referral event of
  kind check_in credited to the member, which the leaderboards count (metric 打卡天数): the group's daily
  and all-time boards and the campaign's board are the existing Redis boards, rebuildable from PostgreSQL;
- the reminder near the end of the window goes, once per member and day, to members of the campaign's
  groups who have not checked in, through the notification outbox (category campaign): only to members
  who may get a commercial message now (opt-outs, after-sales holds, the frequency cap) and who are not in
  their quiet hours now (held until the morning, the reminder would come after the window closed);
- operators may hide a check-in from the group's feed (audited, page and API); it still counts for the member;
- a check-in campaign may run open-ended (no end date, CampaignKind.open_ended): it runs, reminds and grants
  until an operator ends it; its campaign board is then its whole run so far.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import referral_adapter, registry
from campaigns.models import Campaign, CampaignState, CampaignType, CheckIn, CheckinMilestone, CheckinStanding
from campaigns.types.assisted.refusals import ActRefused
from campaigns.types.base import CampaignKind
from groups.activity import record_activity
from groups.models import ActivityKind, Group, Membership, MembershipStatus
from shequn import images
from shops import audit

MAX_MIN_LENGTH = 500
MAX_TEXT_LENGTH = 1000
MAX_MILESTONES = 10
MAX_MILESTONE_DAYS = 366
MAX_MILESTONE_POINTS = 100000


class ProofKind:
    NONE = "none"
    TEXT = "text"
    PHOTO = "photo"
    CHOICES = (NONE, TEXT, PHOTO)


class CheckinRefused(ActRefused):
    """A check-in (or a make-up) that cannot happen, with a reason code the pages and the API show in words."""

    MESSAGES = {
        **ActRefused.MESSAGES,
        "not_member": gettext_lazy("请先加入活动所在的群，再来打卡。"),
        "not_started": gettext_lazy("打卡活动还没开始。"),
        "window": gettext_lazy("现在不在打卡时间内，每天 %(start)s–%(end)s 可以打卡。"),
        "already": gettext_lazy("今天已经打过卡了，明天再来。"),
        "photo_needed": gettext_lazy("请上传一张照片作为打卡凭证。"),
        "text_short": gettext_lazy("打卡内容至少 %(n)d 个字。"),
        "text_long": gettext_lazy("打卡内容不能超过 %(n)d 个字。"),
        "no_card": gettext_lazy("没有可用的补卡了。"),
        "makeup_day": gettext_lazy("只能补最近 %(n)d 天内漏打的卡（不含今天）。"),
        "makeup_taken": gettext_lazy("这一天已经打过卡了，不需要补卡。"),
    }


# --- Time -----------------------------------------------------------------------------------------------


def shop_zone() -> ZoneInfo:
    """The shops' time zone (Asia/Shanghai, no DST): the day a check-in counts for is a day there."""
    return ZoneInfo(django_settings.TIME_ZONE)


def shop_day(at: datetime) -> date:
    return timezone.localtime(at, shop_zone()).date()


def _parse_clock(value, *, allow_24: bool) -> time | None:
    """ "HH:MM" as a time; "24:00" (the end of the day) as time.max when allowed; None when not a time."""
    text = str(value or "").strip()
    if allow_24 and text == "24:00":
        return time.max
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except (TypeError, ValueError):
        return None


def _clock_text(moment: time) -> str:
    return "24:00" if moment == time.max else moment.strftime("%H:%M")


# --- Settings ---------------------------------------------------------------------------------------------


def _int(value, name: str, errors: dict, *, default: int, minimum: int, maximum: int, message: str) -> int | None:
    if value in (None, ""):
        value = default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = message
        return None
    if not minimum <= number <= maximum:
        errors[name] = message
        return None
    return number


def parse_milestones(value) -> list[list[int]]:
    """ "7:10,21:30" (or a list of [days, points]) → [[7, 10], [21, 30]], sorted by days; ValueError if malformed."""
    if isinstance(value, list):
        pairs = [(int(days), int(points)) for days, points in value]
    else:
        pairs = []
        for part in str(value or "").replace("，", ",").replace("：", ":").split(","):
            if part.strip():
                days, _sep, points = part.partition(":")
                pairs.append((int(days.strip()), int(points.strip() or 0)))
    if len({days for days, _points in pairs}) != len(pairs):
        raise ValueError("a milestone twice")
    for days, points in pairs:
        if not (1 <= days <= MAX_MILESTONE_DAYS and 0 <= points <= MAX_MILESTONE_POINTS):
            raise ValueError("out of range")
    return [[days, points] for days, points in sorted(pairs)]


def parse_milestone_coupons(value) -> list[list[int]]:
    """ "7:12,21:13" (or a list of [days, coupon template id]) → [[7, 12], [21, 13]], sorted by days;
    ValueError if malformed."""
    if isinstance(value, list):
        pairs = [(int(days), int(template)) for days, template in value]
    else:
        pairs = []
        for part in str(value or "").replace("，", ",").replace("：", ":").split(","):
            if part.strip():
                days, _sep, template = part.partition(":")
                pairs.append((int(days.strip()), int(template.strip())))
    if len({days for days, _template in pairs}) != len(pairs):
        raise ValueError("a milestone twice")
    if not all(1 <= days <= MAX_MILESTONE_DAYS and 1 <= template < 2**63 for days, template in pairs):
        raise ValueError("out of range")
    return [[days, template] for days, template in sorted(pairs)]


def _clean_milestone_coupons(raw, shop, errors: dict) -> list[list[int]] | None:
    """The coupon milestones, each naming a coupon template (a coupon campaign) of the campaign's shop."""
    try:
        coupons = parse_milestone_coupons(raw or "")
    except (TypeError, ValueError):
        errors["milestone_coupons"] = _(
            "里程碑优惠券请按「天数:券模板编号」填写，用逗号分隔，例如 7:12（天数 1–366，不重复）。"
        )
        return None
    if len(coupons) > MAX_MILESTONES:
        errors["milestone_coupons"] = _("最多设置 %(n)d 个里程碑。") % {"n": MAX_MILESTONES}
        return None
    wanted = {template for _days, template in coupons}
    if wanted and shop is not None:
        shop_id = getattr(shop, "pk", shop)
        found = set(
            Campaign.objects.filter(
                pk__in=wanted,
                shop_id=shop_id,
                type=CampaignType.COUPON,
                state__in=(CampaignState.DRAFT, CampaignState.SCHEDULED, CampaignState.RUNNING),
            ).values_list("pk", flat=True)
        )
        if found != wanted:
            errors["milestone_coupons"] = _("券模板编号 %(ids)s 不是本店的优惠券活动。") % {
                "ids": ", ".join(str(t) for t in sorted(wanted - found))
            }
            return None
    return coupons


def clean_checkin_settings(*, settings: dict, shop=None) -> dict:
    """window_start/window_end ("HH:MM", end after start, "24:00" = midnight), proof ("none", "text" or
    "photo"), min_length (a text proof's least characters, 0–500), milestones ("7:10,21:30": N days →
    points, at most ten), makeup_cards (cards at the start, 0–30), makeup_every_days (one more card per N
    real days, 0 = none), makeup_days_back (1–30), remind_before_minutes (0 = no reminder)."""
    errors: dict[str, str] = {}
    start = _parse_clock(settings.get("window_start") or "06:00", allow_24=False)
    end = _parse_clock(settings.get("window_end") or "23:00", allow_24=True)
    if start is None:
        errors["window_start"] = _("请按「时:分」填写开始时间，例如 06:00。")
    if end is None:
        errors["window_end"] = _("请按「时:分」填写结束时间，例如 23:00（24:00 表示午夜）。")
    elif start is not None and end <= start:
        errors["window_end"] = _("每日打卡结束时间必须晚于开始时间。")
    proof = settings.get("proof") or ProofKind.TEXT
    if proof not in ProofKind.CHOICES:
        errors["proof"] = _("请选择打卡凭证：照片、文字或无需凭证。")
    min_length = _int(
        settings.get("min_length"),
        "min_length",
        errors,
        default=10 if proof == ProofKind.TEXT else 0,
        minimum=0,
        maximum=MAX_MIN_LENGTH,
        message=_("最少字数须在 0–%(max)d 之间。") % {"max": MAX_MIN_LENGTH},
    )
    raw_milestones = settings.get("milestones")
    try:
        milestones = parse_milestones("7:10,21:30" if raw_milestones is None else raw_milestones)
    except (TypeError, ValueError):
        milestones = None
        errors["milestones"] = _("里程碑请按「天数:积分」填写，用逗号分隔，例如 7:10,21:30（天数 1–366，不重复）。")
    if milestones is not None and len(milestones) > MAX_MILESTONES:
        errors["milestones"] = _("最多设置 %(n)d 个里程碑。") % {"n": MAX_MILESTONES}
    milestone_coupons = _clean_milestone_coupons(settings.get("milestone_coupons"), shop, errors)
    cards = _int(
        settings.get("makeup_cards"),
        "makeup_cards",
        errors,
        default=1,
        minimum=0,
        maximum=30,
        message=_("初始补卡数须在 0–30 之间。"),
    )
    every = _int(
        settings.get("makeup_every_days"),
        "makeup_every_days",
        errors,
        default=7,
        minimum=0,
        maximum=MAX_MILESTONE_DAYS,
        message=_("每打卡多少天奖励一张补卡须在 0–366 之间（0 表示不奖励）。"),
    )
    back = _int(
        settings.get("makeup_days_back"),
        "makeup_days_back",
        errors,
        default=3,
        minimum=1,
        maximum=30,
        message=_("可补卡天数须在 1–30 之间。"),
    )
    remind = _int(
        settings.get("remind_before_minutes"),
        "remind_before_minutes",
        errors,
        default=180,
        minimum=0,
        maximum=12 * 60,
        message=_("提醒时间须在结束前 0–720 分钟之间（0 表示不提醒）。"),
    )
    if errors:
        raise ValidationError(errors)
    return {
        "window_start": _clock_text(start),
        "window_end": _clock_text(end),
        "proof": proof,
        "min_length": min_length,
        "milestones": milestones,
        "milestone_coupons": milestone_coupons,
        "makeup_cards": cards,
        "makeup_every_days": every,
        "makeup_days_back": back,
        "remind_before_minutes": remind,
    }


@dataclass(frozen=True)
class Rules:
    """A campaign's cleaned check-in settings, typed."""

    window_start: time
    window_end: time
    proof: str
    min_length: int
    milestones: list
    milestone_coupons: dict  # days → the coupon template given at that streak (besides any points)
    makeup_cards: int
    makeup_every_days: int
    makeup_days_back: int
    remind_before_minutes: int

    @classmethod
    def of(cls, campaign: Campaign) -> "Rules":
        s = campaign.settings
        return cls(
            window_start=_parse_clock(s.get("window_start", "06:00"), allow_24=False),
            window_end=_parse_clock(s.get("window_end", "23:00"), allow_24=True),
            proof=s.get("proof", ProofKind.TEXT),
            min_length=int(s.get("min_length", 0)),
            milestones=[tuple(m) for m in s.get("milestones", [])],
            milestone_coupons={int(days): int(template) for days, template in s.get("milestone_coupons", [])},
            makeup_cards=int(s.get("makeup_cards", 0)),
            makeup_every_days=int(s.get("makeup_every_days", 0)),
            makeup_days_back=int(s.get("makeup_days_back", 3)),
            remind_before_minutes=int(s.get("remind_before_minutes", 0)),
        )

    @property
    def window_text(self) -> dict:
        return {"start": _clock_text(self.window_start), "end": _clock_text(self.window_end)}

    def in_window(self, at: datetime) -> bool:
        clock = timezone.localtime(at, shop_zone()).time()
        return self.window_start <= clock and (self.window_end == time.max or clock < self.window_end)

    def window_closes(self, day: date) -> datetime:
        """The moment the window of `day` closes (midnight after it for "24:00")."""
        if self.window_end == time.max:
            return datetime.combine(day + timedelta(days=1), time.min, tzinfo=shop_zone())
        return datetime.combine(day, self.window_end, tzinfo=shop_zone())

    def rewards(self) -> list[tuple[int, int, int | None]]:
        """(days, points, coupon template or None) of every milestone, by days."""
        points = dict(self.milestones)
        every = sorted(set(points) | set(self.milestone_coupons))
        return [(days, points.get(days, 0), self.milestone_coupons.get(days)) for days in every]

    def cards_earned(self, real_days: int) -> int:
        return self.makeup_cards + (real_days // self.makeup_every_days if self.makeup_every_days else 0)


# --- Reads -----------------------------------------------------------------------------------------------


def standing_of(campaign: Campaign, member) -> CheckinStanding | None:
    if member is None or not member.is_authenticated:
        return None
    return CheckinStanding.objects.filter(campaign=campaign, member=member).first()


def current_streak(standing: CheckinStanding | None, today: date) -> int:
    """The streak still alive today: the run ending at the last day, if that day is today or yesterday."""
    if standing is None or standing.last_day is None or standing.last_day < today - timedelta(days=1):
        return 0
    return standing.streak


def checkin_summary(standing: CheckinStanding, today: date) -> str:
    """我的打卡 · 今日已打卡 · 连续 3 天 (or 今天还没打卡), and the total."""
    done = _("今日已打卡") if standing.last_day == today else _("今天还没打卡")
    return _("我的打卡 · %(done)s · 连续 %(streak)d 天 · 累计 %(total)d 天") % {
        "done": done,
        "streak": current_streak(standing, today),
        "total": standing.total_days,
    }


def cards_left(campaign: Campaign, standing: CheckinStanding | None) -> int:
    rules = Rules.of(campaign)
    if standing is None:
        return rules.makeup_cards
    real_days = standing.total_days - standing.cards_used
    return max(rules.cards_earned(real_days) - standing.cards_used, 0)


def feed(campaign: Campaign, group: Group, day: date, *, include_hidden: bool = False, limit: int = 100):
    """The group's check-ins of `day`, newest first, with their members: one query."""
    rows = CheckIn.objects.filter(campaign=campaign, group=group, day=day).select_related("member")
    if not include_hidden:
        rows = rows.filter(hidden_at__isnull=True)
    return list(rows.order_by("-at", "-pk")[:limit])


def campaign_feed(campaign: Campaign, day: date, *, limit: int = 100):
    """Every group's check-ins of `day` for the operator (hidden ones too), with member and group: one query."""
    return list(
        CheckIn.objects.filter(campaign=campaign, day=day)
        .select_related("member", "group", "hidden_by")
        .order_by("-at", "-pk")[:limit]
    )


def missing_days(campaign: Campaign, member, today: date) -> list[date]:
    """The days a make-up card could fill now: missed, within the days back, not before the start."""
    rules = Rules.of(campaign)
    first = max(today - timedelta(days=rules.makeup_days_back), shop_day(campaign.starts_at))
    taken = set(
        CheckIn.objects.filter(campaign=campaign, member=member, day__gte=first, day__lt=today).values_list(
            "day", flat=True
        )
    )
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    return [d for d in days if d not in taken]


# --- Checking in -----------------------------------------------------------------------------------------


def _lock_standing(campaign: Campaign, member, group: Group | None) -> CheckinStanding:
    """The member's standing row, inserted if missing, locked until commit: every write of the member's
    check-ins in this campaign takes it first, so they run one at a time."""
    table = CheckinStanding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, member_id, group_id, total_days, streak, best_streak, cards_used, "
            "updated_at) VALUES (%s, %s, %s, 0, 0, 0, 0, now()) ON CONFLICT (campaign_id, member_id) DO NOTHING",
            [campaign.pk, member.pk, getattr(group, "pk", None)],
        )
    return CheckinStanding.objects.select_for_update().get(campaign=campaign, member=member)


def runs_of(days: list[date]) -> tuple[int, int]:
    """(the streak ending at the last day, the longest streak) of sorted distinct days."""
    best = run = 0
    previous = None
    for day in days:
        run = run + 1 if previous is not None and day == previous + timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    return run, best


def _recompute(standing: CheckinStanding) -> CheckinStanding:
    """The standing from the member's check-in days (under the standing's lock)."""
    rows = list(
        CheckIn.objects.filter(campaign_id=standing.campaign_id, member_id=standing.member_id)
        .order_by("day")
        .values_list("day", "made_up")
    )
    days = [day for day, _made_up in rows]
    standing.streak, standing.best_streak = runs_of(days)
    standing.total_days = len(days)
    standing.last_day = days[-1] if days else None
    standing.cards_used = sum(1 for _day, made_up in rows if made_up)
    standing.save(update_fields=["streak", "best_streak", "total_days", "last_day", "cards_used", "updated_at"])
    return standing


def _check_proof(rules: Rules, text: str, photo) -> None:
    if len(text) > MAX_TEXT_LENGTH:
        raise CheckinRefused("text_long", n=MAX_TEXT_LENGTH)
    if rules.proof == ProofKind.PHOTO and photo is None:
        raise CheckinRefused("photo_needed")
    if rules.proof == ProofKind.TEXT and len(text) < rules.min_length:
        raise CheckinRefused("text_short", n=rules.min_length)


def _group_for(campaign: Campaign, member, group: Group | None) -> Group:
    from campaigns.services import member_groups_for

    groups = member_groups_for(campaign, member)
    if group is not None and group in groups:
        return group
    if not groups:
        raise CheckinRefused("not_member")
    return groups[0]


def ended(campaign: Campaign, now: datetime) -> bool:
    """Past its end (an open-ended campaign has none: it runs until an operator ends it)."""
    return campaign.ends_at is not None and campaign.ends_at <= now


def check_in_problem(campaign: Campaign, member, *, now: datetime | None = None) -> str | None:
    """Why `member` cannot check in now (a reason code), or None: for pages; `check_in` decides again."""
    from campaigns.services import member_groups_for

    now = now or timezone.now()
    if campaign.state != CampaignState.RUNNING or ended(campaign, now):
        return "not_running"
    if now < campaign.starts_at:
        return "not_started"
    if not Rules.of(campaign).in_window(now):
        return "window"
    if member is None or not member.is_authenticated:
        return None
    if not member_groups_for(campaign, member):
        return "not_member"
    if CheckIn.objects.filter(campaign=campaign, member=member, day=shop_day(now)).exists():
        return "already"
    return None


def refusal(reason: str, campaign: Campaign) -> CheckinRefused:
    if reason == "window":
        return CheckinRefused(reason, **Rules.of(campaign).window_text)
    return CheckinRefused(reason)


def check_in(
    *, campaign: Campaign, member, group: Group | None = None, text: str = "", photo=None, now: datetime | None = None
) -> CheckIn:
    """`member` checks in for today (the shop's day of `now`): exactly one check-in per member, campaign and
    day however many taps race; inside the daily window; with the campaign's proof. The standing, the
    member's activity, the boards' event and any milestone reached follow in the same transaction."""
    now = now or timezone.now()
    if campaign.type != CampaignType.CHECKIN:
        raise ValidationError(_("这不是打卡活动。"))
    rules = Rules.of(campaign)
    problem = check_in_problem(campaign, None, now=now)
    if problem:
        raise refusal(problem, campaign)
    group = _group_for(campaign, member, group)
    text = (text or "").strip()
    _check_proof(rules, text, photo)
    day = shop_day(now)
    stored = _store_photo(photo) if photo is not None else None  # decoding is slow: before any lock
    try:
        with transaction.atomic():
            standing = _lock_standing(campaign, member, group)
            if CheckIn.objects.filter(campaign=campaign, member=member, day=day).exists():
                raise CheckinRefused("already")
            made = _insert(campaign, member, group, day=day, at=now, text=text, photo=stored)
            _after_write(campaign, member, group, standing, made)
            return made
    except IntegrityError as exc:  # the unique day: a second tap that got past the lock's absence
        if "checkin_once_per_member_per_day" not in str(exc):
            raise
        raise CheckinRefused("already") from None
    finally:
        if stored is not None and not CheckIn.objects.filter(photo=stored[0].name).exists():
            _drop_files(stored)


def make_up(*, campaign: Campaign, member, day: date, now: datetime | None = None) -> CheckIn:
    """Fill a missed `day` with a make-up card (补卡): a day at most `makeup_days_back` ago, not today, not
    before the start; one card per day filled, never more cards than earned (decided under the lock)."""
    now = now or timezone.now()
    if campaign.type != CampaignType.CHECKIN:
        raise ValidationError(_("这不是打卡活动。"))
    if campaign.state != CampaignState.RUNNING or ended(campaign, now):
        raise CheckinRefused("not_running")
    rules = Rules.of(campaign)
    today = shop_day(now)
    if not (today - timedelta(days=rules.makeup_days_back) <= day < today) or day < shop_day(campaign.starts_at):
        raise CheckinRefused("makeup_day", n=rules.makeup_days_back)
    group = _group_for(campaign, member, None)
    try:
        with transaction.atomic():
            standing = _lock_standing(campaign, member, group)
            if CheckIn.objects.filter(campaign=campaign, member=member, day=day).exists():
                raise CheckinRefused("makeup_taken")
            if cards_left(campaign, standing) <= 0:
                raise CheckinRefused("no_card")
            made = _insert(campaign, member, group, day=day, at=now, text="", photo=None, made_up=True)
            _after_write(campaign, member, group, standing, made)
            return made
    except IntegrityError as exc:
        if "checkin_once_per_member_per_day" not in str(exc):
            raise
        raise CheckinRefused("makeup_taken") from None


def _insert(campaign, member, group, *, day, at, text, photo, made_up=False) -> CheckIn:
    with transaction.atomic():  # a savepoint: the unique day's refusal leaves the outer transaction usable
        made = CheckIn(campaign=campaign, member=member, group=group, day=day, at=at, text=text, made_up=made_up)
        if photo is not None:
            made.photo.name, made.thumbnail.name = photo[0].name, photo[1].name
        made.save(force_insert=True)
    return made


def _after_write(campaign: Campaign, member, group: Group, standing: CheckinStanding, made: CheckIn) -> None:
    """What follows a new check-in day, in its transaction: the standing, activity, the boards' event and
    the milestones reached."""
    standing = _recompute(standing)
    record_activity(
        group_id=group.pk, user_id=member.pk, kind=ActivityKind.CHECK_IN, ref=f"checkin:{made.pk}", at=made.at
    )
    referral_adapter.record_check_in(campaign=campaign, member=member, day=made.day, group=group, occurred_at=made.at)
    grant_milestones(campaign=campaign, member_id=member.pk, best_streak=standing.best_streak, now=made.at)


def _store_photo(upload) -> tuple:
    """The photo and its thumbnail through shequn.images (decoded, stripped, downscaled, renamed), saved."""
    from django.core.files.storage import default_storage

    try:
        photo = images.clean_image(upload, bounds=images.PHOTO)
        thumb = images.clean_image(photo, bounds=images.THUMBNAIL)
    except ValidationError as refused:
        raise ValidationError({"photo": refused.messages}) from None
    month = timezone.localdate().strftime("%Y/%m")
    photo_name = default_storage.save(f"checkins/{month}/{photo.name}", photo)
    thumb_name = default_storage.save(f"checkins/thumbs/{month}/{thumb.name}", thumb)
    photo.name, thumb.name = photo_name, thumb_name
    return photo, thumb


def _drop_files(stored: tuple) -> None:
    """Files of a check-in that was refused after they were stored (a double tap): nothing points at them."""
    from django.core.files.storage import default_storage

    for file in stored:
        default_storage.delete(file.name)


# --- Milestones ------------------------------------------------------------------------------------------


def grant_milestones(*, campaign: Campaign, member_id: int, best_streak: int, now: datetime) -> list[int]:
    """Grant every milestone of the campaign the member's best streak has reached and that they do not have:
    one INSERT … ON CONFLICT DO NOTHING, so each is granted exactly once however many callers race; its
    points go to the member's points ledger (referrals.points, once per key), its coupon is given through the
    coupon type (grant_coupon, once per key) and the member is told (the outbox). Returns the milestones
    (days) granted by this call."""
    reached = [reward for reward in Rules.of(campaign).rewards() if reward[0] <= best_streak]
    if not reached:
        return []
    table = CheckinMilestone._meta.db_table
    coupon, points_only = CheckinMilestone.Kind.COUPON, CheckinMilestone.Kind.POINTS
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, member_id, days, kind, points, label, granted_at) "
            "SELECT %s, %s, d, CASE WHEN c > 0 THEN %s ELSE %s END, p, '', %s "
            "FROM unnest(%s::int[], %s::int[], %s::bigint[]) AS m(d, p, c) "
            "ON CONFLICT (campaign_id, member_id, days) DO NOTHING RETURNING days, points",
            [
                campaign.pk,
                member_id,
                coupon,
                points_only,
                now,
                [d for d, _p, _c in reached],
                [p for _d, p, _c in reached],
                [c or 0 for _d, _p, c in reached],
            ],
        )
        granted = sorted(cursor.fetchall())
    templates = {days: template for days, _points, template in reached}
    for days, points in granted:  # the row is new: its points go to the member's ledger, once (the same key)
        if points > 0:
            referral_adapter.credit_points(
                campaign=campaign, member_id=member_id, points=points, key=f"checkin:{campaign.pk}:{member_id}:{days}"
            )
        if templates.get(days):
            issue_milestone_coupon(campaign=campaign, member_id=member_id, days=days, template_id=templates[days])
    _tell_milestones(campaign, member_id, [(days, points, templates.get(days)) for days, points in granted])
    return [days for days, _points in granted]


def issue_milestone_coupon(*, campaign: Campaign, member_id: int, days: int, template_id: int) -> bool:
    """Give the milestone's coupon (coupon type's grant_coupon, once per key, the check-in campaign as its
    issuer: its discount is this campaign's cost) and stamp the milestone. A template sold out or stopped
    leaves the stamp empty: the job's repair pass tries again. Returns whether the coupon is given now."""
    from accounts.models import User
    from campaigns.types.coupon.kind import CouponRefused, grant_coupon

    template = Campaign.objects.filter(pk=template_id, shop_id=campaign.shop_id, type=CampaignType.COUPON).first()
    if template is None:
        return False
    try:
        with transaction.atomic():
            grant_coupon(
                template=template,
                member=User.objects.get(pk=member_id),
                reason=_("连续打卡 %(days)d 天") % {"days": days},
                key=f"checkin:{campaign.pk}:{member_id}:{days}",
                issuer=campaign,
            )
            CheckinMilestone.objects.filter(
                campaign=campaign, member_id=member_id, days=days, coupon_issued_at__isnull=True
            ).update(coupon_issued_at=timezone.now())
    except CouponRefused:
        return False
    return True


def _tell_milestones(campaign: Campaign, member_id: int, granted: list[tuple[int, int, int | None]]) -> None:
    from notifications.services import notify

    url = django_settings.SITE_URL + reverse("campaigns:checkin_page", args=[campaign.pk])
    for days, points, template in granted:
        if template and points:
            title = _("连续打卡 %(days)d 天，获得 %(points)d 积分和一张优惠券") % {"days": days, "points": points}
        elif template:
            title = _("连续打卡 %(days)d 天，获得一张优惠券") % {"days": days}
        else:
            title = _("连续打卡 %(days)d 天，获得 %(points)d 积分") % {"days": days, "points": points}
        notify(
            shop=campaign.shop_id,
            user=member_id,
            category="transactional",
            kind="checkin_milestone",
            key=f"checkin-milestone:{campaign.pk}:{member_id}:{days}",
            title=title,
            body=_("「%(name)s」打卡达成里程碑，奖励已记入你的账户。") % {"name": campaign.name},
            url=url,
        )


def settle_milestones(*, now: datetime | None = None) -> int:
    """The repair pass of the periodic job: grant the milestones every standing has reached and lacks (a
    check-in's own grant is in its transaction, so this finds work only after a settings change or a
    restore). Safe to run twice or concurrently: the unique row decides."""
    now = now or timezone.now()
    granted = 0
    campaigns = Campaign.objects.filter(type=CampaignType.CHECKIN, state=CampaignState.RUNNING)
    for campaign in campaigns:
        rewards = Rules.of(campaign).rewards()
        if not rewards:
            continue
        granted += _retry_coupons(campaign)
        lowest = min(days for days, _points, _template in rewards)
        standings = CheckinStanding.objects.filter(campaign=campaign, best_streak__gte=lowest).values_list(
            "member_id", "best_streak"
        )
        for member_id, best in standings:
            with transaction.atomic():
                granted += len(grant_milestones(campaign=campaign, member_id=member_id, best_streak=best, now=now))
    return granted


def _retry_coupons(campaign: Campaign) -> int:
    """Milestones granted whose coupon could not be given then (the template sold out or stopped): again."""
    coupons = Rules.of(campaign).milestone_coupons
    waiting = CheckinMilestone.objects.filter(
        campaign=campaign, days__in=list(coupons), coupon_issued_at__isnull=True
    ).values_list("member_id", "days")
    given = 0
    for member_id, days in waiting:
        given += issue_milestone_coupon(campaign=campaign, member_id=member_id, days=days, template_id=coupons[days])
    return given


# --- Reminders -------------------------------------------------------------------------------------------


def _campaign_members(campaign: Campaign) -> list[int]:
    """The active members of the campaign's groups (not the shop's staff), by id."""
    memberships = Membership.objects.filter(group__shop_id=campaign.shop_id, status=MembershipStatus.ACTIVE)
    if not campaign.all_groups:
        memberships = memberships.filter(
            Q(group__in=campaign.groups.values("pk")) | Q(group__series__in=campaign.series.values("pk"))
        )
    memberships = memberships.exclude(user__operator_seats__shop_id=campaign.shop_id)
    return sorted(set(memberships.values_list("user_id", flat=True)))


def reminder_due(campaign: Campaign, now: datetime) -> bool:
    """Is `now` within the reminder's stretch before today's window closes?"""
    rules = Rules.of(campaign)
    if not rules.remind_before_minutes or not rules.in_window(now):
        return False
    closes = rules.window_closes(shop_day(now))
    return closes - timedelta(minutes=rules.remind_before_minutes) <= now < closes


def not_in_quiet_hours(user_ids: list[int], shop_id: int, now: datetime) -> set[int]:
    """Of the members, those whose quiet hours (their own, else the shop's) do not cover `now`."""
    from notifications.models import Preference
    from notifications.services import quiet_hours, quiet_until, settings_for

    shop_settings = settings_for(shop_id)
    preferences = {p.user_id: p for p in Preference.objects.filter(shop_id=shop_id, user_id__in=user_ids)}
    awake = set()
    for user_id in user_ids:
        preference = preferences.get(user_id) or Preference(user_id=user_id, shop_id=shop_id)
        start, end = quiet_hours(preference, shop_settings)
        if quiet_until(now, start, end) is None:
            awake.add(user_id)
    return awake


def remind_campaign(campaign: Campaign, *, now: datetime) -> int:
    """Remind, once per member and day, the members who have not checked in today (see the module's rules).
    Returns how many reminders were written now."""
    from notifications.models import Category
    from notifications.services import Outgoing, marketing_eligibility, notify_many

    if not reminder_due(campaign, now):
        return 0
    day = shop_day(now)
    done = set(CheckIn.objects.filter(campaign=campaign, day=day).values_list("member_id", flat=True))
    waiting = [user_id for user_id in _campaign_members(campaign) if user_id not in done]
    if not waiting:
        return 0
    eligible = marketing_eligibility(waiting, campaign.shop_id, now, category=Category.CAMPAIGN)
    eligible &= not_in_quiet_hours(sorted(eligible), campaign.shop_id, now)
    closes = timezone.localtime(Rules.of(campaign).window_closes(day), shop_zone())
    url = django_settings.SITE_URL + reverse("campaigns:checkin_page", args=[campaign.pk])
    items = [
        Outgoing(
            shop_id=campaign.shop_id,
            user_id=user_id,
            category=Category.CAMPAIGN,
            kind="checkin_reminder",
            key=f"checkin-remind:{campaign.pk}:{user_id}:{day:%Y%m%d}",
            title=_("今天还没打卡哦"),
            body=_("「%(name)s」今天 %(end)s 截止，别让连续打卡断了。")
            % {"name": campaign.name, "end": f"{closes:%H:%M}"},
            url=url,
        )
        for user_id in sorted(eligible)
    ]
    with transaction.atomic():
        return len(notify_many(items, now=now))


def remind_due(*, now: datetime | None = None) -> int:
    """Every running check-in campaign near the end of today's window: its reminders (remind_campaign)."""
    now = now or timezone.now()
    running = Campaign.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        type=CampaignType.CHECKIN,
        state=CampaignState.RUNNING,
        starts_at__lte=now,
    )
    return sum(remind_campaign(campaign, now=now) for campaign in running)


def run_jobs(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic job (campaigns.tasks.checkin_jobs): reminders, then the milestones' repair pass."""
    now = now or timezone.now()
    return {"reminders": remind_due(now=now), "milestones": settle_milestones(now=now)}


# --- Moderation ------------------------------------------------------------------------------------------


def set_hidden(*, check_in: CheckIn, by, hidden: bool) -> CheckIn:
    """An operator hides a check-in from the group's feed (or shows it again), recorded in the audit log.
    Hiding twice changes nothing twice (a conditional UPDATE decides: groups.hideable)."""
    with transaction.atomic():
        if check_in.set_hidden(hidden, by=by):
            audit.record(
                shop=check_in.campaign.shop_id,
                by=by,
                action="campaign.checkin.hide" if hidden else "campaign.checkin.show",
                target=check_in,
                before={"hidden": not hidden},
                after={"hidden": hidden},
                label=_("%(member)s 的打卡（%(day)s）") % {"member": check_in.member.public_name, "day": check_in.day},
            )
    return check_in


# --- Figures ---------------------------------------------------------------------------------------------


def checkin_figures(campaign: Campaign, *, now: datetime | None = None) -> dict:
    """Live figures of one check-in campaign: a fixed number of queries (three)."""
    today = shop_day(now or timezone.now())
    rows = CheckIn.objects.filter(campaign=campaign).aggregate(
        today=Count("pk", filter=Q(day=today)),
        total=Count("pk"),
        members=Count("member", distinct=True),
        made_up=Count("pk", filter=Q(made_up=True)),
        hidden=Count("pk", filter=Q(hidden_at__isnull=False)),
    )
    streaks = CheckinStanding.objects.filter(campaign=campaign).aggregate(
        alive=Count("pk", filter=Q(last_day__gte=today - timedelta(days=1), streak__gte=2)),
        week=Count("pk", filter=Q(best_streak__gte=7)),
    )
    milestones = CheckinMilestone.objects.filter(campaign=campaign).count()
    return {
        "today": rows["today"],
        "members": rows["members"],
        "total": rows["total"],
        "alive": streaks["alive"],
        "week": streaks["week"],
        "made_up": rows["made_up"],
        "milestones": milestones,
        "hidden": rows["hidden"],
    }


# --- The plug-in -----------------------------------------------------------------------------------------


class CheckinKind(CampaignKind):
    code = CampaignType.CHECKIN
    label = gettext_lazy("打卡")
    summary = gettext_lazy("群成员每天打卡，连续打卡攒积分，漏打可以补卡。")
    essential_settings = ("window_start", "window_end", "proof", "milestones")
    sells = False
    open_ended = True  # a habit group checks in for as long as it lives: no end date needed
    figure_labels = {
        "today": gettext_lazy("今日打卡"),
        "members": gettext_lazy("参与人数"),
        "total": gettext_lazy("累计打卡"),
        "alive": gettext_lazy("连续打卡中"),
        "week": gettext_lazy("连续 7 天以上"),
        "made_up": gettext_lazy("补卡次数"),
        "milestones": gettext_lazy("里程碑奖励"),
        "hidden": gettext_lazy("已隐藏"),
    }

    @property
    def settings_form(self):
        from .forms import CheckinSettingsForm

        return CheckinSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_checkin_settings(settings=settings, shop=campaign_fields.get("shop"))

    def figures(self, campaign) -> dict:
        return checkin_figures(campaign)

    def settings_words(self, campaign) -> dict[str, str]:
        """The milestones in words (连续 7 天：10 积分); the coupon ones by their templates' names and faces, all
        read in one query however many milestones, never by the templates' ids."""
        from campaigns.types.coupon.terms import TEMPLATE_GONE, templates_words

        rules = Rules.of(campaign)
        templates = templates_words(campaign.shop_id, rules.milestone_coupons.values())
        points = [
            _("连续 %(days)s 天：%(points)s 积分") % {"days": days, "points": points}
            for days, points in rules.milestones
        ]
        coupons = [
            _("连续 %(days)s 天：%(coupon)s") % {"days": days, "coupon": templates.get(template) or TEMPLATE_GONE}
            for days, template in sorted(rules.milestone_coupons.items())
        ]
        return {"milestones": "；".join(points) or "—", "milestone_coupons": "；".join(coupons) or "—"}

    def landing_context(self, campaign, user) -> dict:
        today = shop_day(timezone.now())
        standing = standing_of(campaign, user)
        return {
            "checkin_rules": Rules.of(campaign),
            "checkin_streak": current_streak(standing, today),
            "checkin_total": standing.total_days if standing else 0,
        }

    def dashboard_context(self, campaign, request) -> dict:  # noqa: ARG002 - the interface
        today = shop_day(timezone.now())
        return {"checkin_feed": campaign_feed(campaign, today), "checkin_today": today}

    # -- the member's own part --

    participation_label = gettext_lazy("我的打卡")

    def member_states(self, campaigns: list, member) -> dict[int, dict]:
        """Whether the member checked in today and their streak, in each campaign they have checked in to; not
        yet today, the time left is today's window. One query."""
        now = timezone.now()
        today = shop_day(now)
        by_pk = {campaign.pk: campaign for campaign in campaigns}
        states: dict[int, dict] = {}
        for standing in CheckinStanding.objects.filter(campaign__in=list(by_pk), member=member):
            campaign = by_pk[standing.campaign_id]
            done = standing.last_day == today
            closes = Rules.of(campaign).window_closes(today)
            states[campaign.pk] = {
                "summary": checkin_summary(standing, today),
                "url": reverse("campaigns:checkin_page", args=[campaign.pk]),
                "ends_at": None if done or closes <= now else closes,
            }
        return states

    def participations(self, member, *, limit: int) -> list[dict]:
        today = shop_day(timezone.now())
        standings = (
            CheckinStanding.objects.filter(member=member)
            .select_related("campaign")
            .order_by("-last_day", "-pk")[:limit]
        )
        return [
            {
                "id": standing.pk,
                "campaign_id": standing.campaign_id,
                "title": standing.campaign.hook_title or standing.campaign.name,
                "state": "checked_in" if standing.last_day == today else "waiting",
                "state_label": _("今日已打卡") if standing.last_day == today else _("今天还没打卡"),
                "summary": checkin_summary(standing, today),
                "live": standing.campaign.state == CampaignState.RUNNING,
                "ends_at": None,
                "url": reverse("campaigns:checkin_page", args=[standing.campaign_id]),
            }
            for standing in standings
        ]

    def poster_offer(self, campaign, target) -> str:  # noqa: ARG002 - the interface
        rules = Rules.of(campaign)
        if rules.milestones:
            days, points = rules.milestones[0]
            return _("连续打卡 %(days)d 天得 %(points)d 积分") % {"days": days, "points": points}
        return _("每天打卡 %(start)s–%(end)s") % rules.window_text


registry.register(CheckinKind())
