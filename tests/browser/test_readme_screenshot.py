"""The README's picture: the operator dashboard (a group of the demo shop) next to a member's invite page.

Runs with the rest of the browser tests and checks what both pages show; the composed picture goes to
test-artifacts/. To refresh the README's copy, run it with SHEQUN_SCREENSHOT=1, which writes
docs/screenshot.png instead:

    SHEQUN_SCREENSHOT=1 scripts/test tests/browser/test_readme_screenshot.py
"""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import expect

from groups.models import Group, MembershipStatus
from groups.services import personal_link
from shequn.management.commands.seed_demo import DEMO_PASSWORD, DEMO_SLUG, OWNER_EMAIL, SHOWCASE_SERIES

pytestmark = pytest.mark.browser

README_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
MAX_BYTES = 400 * 1024

DASHBOARD_SIZE = (1366, 1010)
PHONE_SIZE = (390, 844)
MARGIN, BEZEL = 44, 12
BACKGROUND = (236, 241, 238)


def test_readme_screenshot_shows_the_dashboard_and_an_invite_page(browser, live_site, shot, sign_in_operator):
    call_command("seed_demo", stdout=io.StringIO())
    group = (
        Group.objects.filter(shop__slug=DEMO_SLUG, series__name=SHOWCASE_SERIES)
        .annotate(
            invited=Count(
                "memberships", filter=Q(memberships__status=MembershipStatus.ACTIVE, memberships__inviter__isnull=False)
            )
        )
        .order_by("-invited", "pk")
        .first()
    )
    # A member of that group who has a name and brought friends shares their own link.
    inviter = (
        group.memberships.filter(status=MembershipStatus.ACTIVE)
        .exclude(user__display_name="")
        .annotate(brought=Count("user__referral_edges"))
        .order_by("-brought", "pk")
        .first()
        .user
    )
    link = personal_link(user=inviter, group=group)

    dashboard = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": DASHBOARD_SIZE[0], "height": DASHBOARD_SIZE[1]}
    )
    phone = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": PHONE_SIZE[0], "height": PHONE_SIZE[1]},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        desk = dashboard.new_page()
        sign_in_operator(desk, OWNER_EMAIL, DEMO_PASSWORD)
        desk.get_by_role("link", name=group.name, exact=True).click()
        expect(desk.get_by_role("heading", name=group.name)).to_be_visible()
        invited_rows = desk.locator("#members tbody tr", has_text="成员邀请")
        expect(invited_rows.first).to_be_visible()
        newest = group.memberships.filter(status=MembershipStatus.ACTIVE).order_by("-joined_at", "-pk").first()
        first_row = desk.locator("#members tbody tr").first
        expect(first_row).to_contain_text(newest.user.public_name)
        if newest.inviter:
            expect(first_row).to_contain_text(newest.inviter.public_name)
        desk.mouse.move(0, 0)
        dashboard_png = desk.screenshot()

        member = phone.new_page()
        member.goto(link.public_url)
        expect(member.get_by_role("heading", name=group.name)).to_be_visible()
        expect(member.locator(".inviter")).to_contain_text(f"{inviter.public_name} 邀请你加入")
        expect(member.locator(".chips")).to_contain_text(f"{group.active_member_count} / {group.capacity} 人")
        expect(member.get_by_role("button", name="登录并加入")).to_be_visible()
        shot(member, "invite-page")
        phone_png = member.screenshot()
    finally:
        dashboard.close()
        phone.close()

    picture = compose(dashboard_png, phone_png)
    if os.environ.get("SHEQUN_SCREENSHOT") == "1":
        target = README_PICTURE
    else:
        target = shot.folder / "readme-screenshot.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(picture)
    assert len(picture) < MAX_BYTES, f"{target} is {len(picture) // 1024} KB; the README's picture stays small"


def compose(dashboard_png: bytes, phone_png: bytes) -> bytes:
    """The dashboard as a browser window, a phone standing to its right; a palette PNG keeps it small."""
    desk = Image.open(io.BytesIO(dashboard_png)).convert("RGB")
    phone = Image.open(io.BytesIO(phone_png)).convert("RGB").resize(PHONE_SIZE, Image.Resampling.LANCZOS)
    bar = 30
    phone_w, phone_h = PHONE_SIZE[0] + 2 * BEZEL, PHONE_SIZE[1] + 2 * BEZEL
    width = MARGIN + desk.width + MARGIN + phone_w + MARGIN
    height = MARGIN + bar + desk.height + MARGIN
    canvas = Image.new("RGB", (width, height), BACKGROUND)

    window = (MARGIN, MARGIN, MARGIN + desk.width, MARGIN + bar + desk.height)
    top = (height - phone_h) // 2 + bar // 2
    phone_box = (width - MARGIN - phone_w, top, width - MARGIN, top + phone_h)
    _shadow(canvas, window, radius=10)
    _shadow(canvas, phone_box, radius=44)

    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle(window, radius=10, fill=(222, 226, 230))
    draw.rectangle((window[0], window[1] + bar - 10, window[2], window[1] + bar), fill=(222, 226, 230))
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        x = window[0] + 18 + i * 20
        draw.ellipse((x - 6, window[1] + bar // 2 - 6, x + 6, window[1] + bar // 2 + 6), fill=colour)
    canvas.paste(desk, (MARGIN, MARGIN + bar))

    draw.rounded_rectangle(phone_box, radius=44, fill=(24, 28, 32))
    screen = Image.new("L", PHONE_SIZE, 0)
    ImageDraw.Draw(screen).rounded_rectangle((0, 0, *PHONE_SIZE), radius=34, fill=255)
    canvas.paste(phone, (phone_box[0] + BEZEL, phone_box[1] + BEZEL), screen)

    out = io.BytesIO()
    canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, "PNG", optimize=True
    )
    return out.getvalue()


def _shadow(canvas: Image.Image, box: tuple[int, int, int, int], *, radius: int) -> None:
    mask = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((box[0], box[1] + 8, box[2], box[3] + 8), radius=radius, fill=70)
    mask = mask.filter(ImageFilter.GaussianBlur(14))
    canvas.paste(Image.new("RGB", canvas.size, (40, 60, 50)), (0, 0), mask)
