"""No raw identifiers on any page (issue 18): every dashboard and member page of the demo (seed_demo, plus a
campaign of each kind with a team, a bargain and a help task), in Chinese and in English, is crawled from the
home pages by following links, and fails on what a person should never read: snake_case keys (`floor_price`,
`order_paid`), `app:id` references (`campaign:1`, `user:2`) and stored enum values shown untranslated."""

import re
from collections import Counter, deque
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urldefrag, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from accounts.models import User
from groups.models import Membership, MembershipStatus
from shequn.management.commands.seed_demo import DEMO_SLUG, OWNER_EMAIL, delete_demo
from shops.models import Shop

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # each builds the whole demo

ROOTS = {"owner": ["/dashboard/", "/platform/"], "member": ["/m/groups/", "/m/c/teams/mine/", "/m/orders/", "/m/me/"]}
# Where a crawl never goes: signing out, switching language, files and machine endpoints.
SKIPPED = re.compile(r"^/(accounts/logout|i18n|admin|api|_allauth|media|static)/|\.(png|svg|csv|jpg|ico)$|/export/")
PER_ROUTE = 2  # pages of one kind (one URL name) read: another group's page has the same template
# A file name a provider hands out (apiclient_key.pem) is what the operator must look for, not a key.
SNAKE = re.compile(r"(?<![\w./@-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/@-]|\.[a-z]{2,4}\b)")
APP_ID = re.compile(r"(?<![\w./-])[a-z_]+:\d+(?![\w/])")


class _Page(HTMLParser):
    """A page's visible text (as tests/test_i18n.py reads it) and the links a person can follow."""

    SHOWN = {"title", "placeholder", "aria-label", "alt"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.chunks, self.links, self._open = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.chunks.append(attrs["value"])
        self.chunks += [value for name, value in attrs.items() if name in self.SHOWN and value]
        if tag not in self.VOID:
            self._open.append((tag, tag in ("script", "style", "textarea") or attrs.get("aria-hidden") == "true"))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if data.strip() and not any(hidden for _tag, hidden in self._open):
            self.chunks.append(data.strip())


def _enum_values() -> dict[str, str]:
    """Every stored choice value whose label says something else (value → label), from all models."""
    found = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value and str(label) != value and re.fullmatch(r"[a-z_]+", value):
                    found[value] = str(label)
    return found


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), translation.override(settings.LANGUAGE_CODE):
        call_command("seed_demo", stdout=StringIO())
        _add_campaigns(Shop.objects.get(slug=DEMO_SLUG))
    yield
    with django_db_blocker.unblock():
        delete_demo()  # the campaigns added above too, in the order their rows protect each other


def _add_campaigns(shop) -> None:
    """One campaign of each kind, each with the member's own act, so their pages are part of the crawl."""
    from campaigns import services
    from campaigns.types.bargain import kind as bargain
    from campaigns.types.group_buy import kind as group_buy
    from campaigns.types.help import kind as helping
    from orders.models import Sku
    from orders.services import DeliveryRequest

    owner = User.objects.get(email=OWNER_EMAIL)
    member, group = _member_and_group(shop)
    sku = Sku.objects.filter(product__shop=shop, stock__gt=10).order_by("pk").first()
    now = timezone.now()
    common = dict(shop=shop, by=owner, sku=sku, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=3))
    made = [
        services.create_campaign(
            type="group_buy",
            name="三人团",
            settings={"team_size": 3, "group_price": str(sku.price - Decimal("1")), "time_limit_minutes": 1440},
            **common,
        ),
        services.create_campaign(
            type="bargain",
            name="好友砍价",
            settings={
                "original_price": str(sku.price),
                "floor_price": "1.00",
                "min_cuts": 3,
                "time_limit_minutes": 1440,
            },
            **common,
        ),
        services.create_campaign(
            type="help",
            name="好友助力",
            settings={"helps_needed": 3, "time_limit_minutes": 1440, "reward_kind": "price", "reward_price": "0.01"},
            **common,
        ),
        services.create_campaign(
            type="give", name="买一送一", settings={"mode": "gift", "claim_days": 7, "on_expiry": "refund"}, **common
        ),
    ]
    for campaign in made:
        services.schedule_campaign(campaign=campaign, by=owner)
    for campaign in made:  # a draft of each kind, as the launch wizard leaves it before its last step
        services.create_campaign(
            type=campaign.type, name=f"{campaign.name}（草稿）", settings=campaign.settings, **common
        )
    services.start_due()
    gb, bg, hp, _give = (type(c).objects.get(pk=c.pk) for c in made)
    delivery = DeliveryRequest(
        method="shipping", recipient_name="王芳", recipient_phone="13800138000", address="上海市徐汇区漕溪北路 1 号"
    )
    group_buy.open_team(campaign=gb, member=member, group=group, delivery=delivery, idempotency_key="sweep-team")
    bargain.start_bargain(campaign=bg, member=member)
    helping.start_task(campaign=hp, member=member)


def _member_and_group(shop):
    membership = (
        Membership.objects.filter(group__shop=shop, status=MembershipStatus.ACTIVE, user__orders__isnull=False)
        .select_related("user", "group")
        .order_by("pk")
        .first()
    )
    return membership.user, membership.group


def _must_read(shop, who: str) -> list[str]:
    """Pages read whatever the links lead to first: each campaign's (its rules, in every kind's words), and
    the order a campaign placed (its source and payment provider)."""
    from django.urls import reverse

    from campaigns.models import Campaign, CampaignOrder

    if who != "owner":
        return []
    from campaigns import registry

    campaigns = Campaign.objects.filter(shop=shop).order_by("pk")
    drafts = [c.pk for c in campaigns if c.state == "draft"]
    order = CampaignOrder.objects.filter(campaign__shop=shop).values_list("order_id", flat=True).first()
    # The launch wizard, every step of it for every type: step 2 of a new one (step 3's fields are in the
    # page, hidden), and of a draft step 3, the preview with its launch form, and the previewed landing page.
    wizard_steps = ("campaign_launch_draft", "campaign_launch_preview", "campaign_landing_preview")
    return [
        *(reverse("dashboard:campaign_detail", args=[c.pk]) for c in campaigns),
        reverse("dashboard:order_detail", args=[order]),
        reverse("dashboard:campaign_launch"),
        *(reverse("dashboard:campaign_launch_new", args=[kind.code]) for kind in registry.all()),
        *(reverse(f"dashboard:{step}", args=[pk]) for pk in drafts for step in wizard_steps),
    ]


def _crawl(client: Client, roots: list[str], *, must_read: list[str]) -> dict[str, str]:
    """url → visible text of the pages reached from `roots`, up to PER_ROUTE of each URL name, and of
    every page in `must_read`."""
    seen, per_route, pages, queue = set(), Counter(), {}, deque([*must_read, *roots])
    per_route.subtract(resolve(url).view_name for url in must_read)  # not counted against the others
    while queue:
        url = queue.popleft()
        path = urlsplit(url).path
        if path in seen or SKIPPED.search(path):
            continue
        seen.add(path)
        try:
            route = resolve(path).view_name
        except Resolver404:
            continue
        if per_route[route] >= PER_ROUTE:
            continue
        per_route[route] += 1
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        parser = _Page()
        parser.feed(response.content.decode())
        pages[url] = parser.chunks
        for href in parser.links:
            href = urldefrag(href)[0]
            if href.startswith("/") and not href.startswith("//"):
                queue.append(href)
    return pages


def _problems(pages: dict[str, list[str]], *, english: bool) -> list[str]:
    enums = _enum_values()
    found = []
    for url, chunks in pages.items():
        for chunk in chunks:
            bad = SNAKE.findall(chunk) + APP_ID.findall(chunk)
            if english:
                bad += [chunk] if chunk in enums else []
            else:
                bad += [word for word in re.findall(r"[a-z_]+", chunk) if word in enums and not _ascii_context(chunk)]
            if bad:
                found.append(f"{url}: {sorted(set(bad))} in {chunk[:80]!r}")
    return found


def _ascii_context(chunk: str) -> bool:
    """A Chinese page may show Latin text people typed (names, an e-mail, a URL): only a lone word counts."""
    return not re.fullmatch(r"[a-z_]+", chunk.strip()) and not re.search(r"[\u4e00-\u9fff]", chunk)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("who", ["owner", "member"])
def test_no_page_shows_raw_identifiers(demo, who, language):
    shop = Shop.objects.get(slug=DEMO_SLUG)
    user = User.objects.get(email=OWNER_EMAIL) if who == "owner" else _member_and_group(shop)[0]
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    must_read = _must_read(shop, who)
    pages = _crawl(client, ROOTS[who], must_read=must_read)

    assert not [url for url in must_read if url not in pages], "pages that must be read did not answer 200"

    assert len(pages) > (40 if who == "owner" else 10), f"the crawl reached only {sorted(pages)}"
    problems = _problems(pages, english=language == "en")
    assert not problems, "raw identifiers on pages:\n" + "\n".join(problems)
