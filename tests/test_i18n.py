"""Chinese is the default language and English is complete.

Every message the code marks for translation has an English translation in locale/en/LC_MESSAGES/django.po
(found by running makemessages itself, so a new untranslated string fails here); pages render in Chinese
by default and in English after the language switch; API errors follow Accept-Language.

The page tests need the compiled catalog: scripts/test runs `manage.py compilemessages` first.
"""

import ast
import gettext
import re
import shutil
import subprocess
import uuid
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.commands import makemessages
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import translation
from rest_framework.test import APIClient

from groups import services as group_services
from orders.models import AfterSalesCase
from orders.services import DeliveryRequest, LineRequest, open_case, place_order
from shops.models import OperatorRole
from tests.builders.orders import DjangoClientTransport, pay
from tests.factories import (
    GroupFactory,
    InviteLinkFactory,
    OperatorFactory,
    PickupPointFactory,
    ShopFactory,
    SkuFactory,
    UserFactory,
)

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
# Not the project's own messages: the virtualenv, data, test code and collected files.
IGNORED = [".venv", "var", "test-artifacts", "tests", "staticfiles", "media", "node_modules"]
HOW_TO_FIX = (
    "run `manage.py makemessages -l en --ignore=.venv --ignore=var --ignore=test-artifacts --ignore=tests "
    "--no-obsolete`, translate the new entries in locale/en/LC_MESSAGES/django.po, then compilemessages"
)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# %(name)s, %(n).1f, %d, {name} and HTML tags must survive translation unchanged.
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-+ #0]*\d*(?:\.\d+)?[sdfr]|%[sd]|\{[a-z_]*\}|</?[a-z]+[^>]*>")


# --- Reading .po files ----------------------------------------------------------------------------


def read_po(path: Path) -> dict[tuple[str, str], dict]:
    """Entries keyed by (msgctxt, msgid), each {"msgid_plural"?, "msgstr" or "msgstr[n]", "fuzzy"}; no header."""
    entries, entry, key = {}, None, None

    def close():
        if entry and entry.get("msgid"):
            entries[(entry.get("msgctxt", ""), entry["msgid"])] = entry

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            close()
            entry, key = None, None
            continue
        if line.startswith("#~"):  # obsolete entries are not messages
            continue
        entry = entry if entry is not None else {"fuzzy": False}
        if line.startswith("#,"):
            entry["fuzzy"] = "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    close()
    return entries


def translations_of(entry: dict) -> list[str]:
    if "msgid_plural" in entry:
        return [value for key, value in entry.items() if key.startswith("msgstr[")]
    return [entry.get("msgstr", "")]


def is_translated(entry: dict) -> bool:
    values = translations_of(entry)
    return not entry["fuzzy"] and bool(values) and all(values)


class _MessagesInto(makemessages.Command):
    """makemessages that writes its catalog under `out_dir` only, never into the project's locale/."""

    out_dir = ""

    def find_files(self, root):
        files = super().find_files(root)
        self.locale_paths = [self.out_dir]
        for file in files:
            file.locale_dir = self.out_dir
        return files


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """What makemessages finds in the code right now: (entries, xgettext warnings)."""
    if not shutil.which("xgettext"):
        pytest.fail("GNU gettext is not installed (apt-get install gettext); scripts/test installs it.")
    out_dir = tmp_path_factory.mktemp("locale")
    command = _MessagesInto()
    command.out_dir = str(out_dir)
    output = StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(settings.BASE_DIR)
        mp.setattr(settings, "LOCALE_PATHS", [str(out_dir)])
        call_command(
            command, locale=["en"], ignore_patterns=IGNORED, no_obsolete=True, verbosity=1, stdout=output, stderr=output
        )
    return read_po(out_dir / "en" / "LC_MESSAGES" / "django.po"), output.getvalue()


# --- The catalog is complete ----------------------------------------------------------------------


def test_every_message_in_the_code_has_an_english_translation(extracted):
    found, _warnings = extracted
    committed = read_po(PO_FILE)

    missing = [
        msgid
        for key, entry in found.items()
        for msgid in [key[1]]
        if key not in committed
        or not is_translated(committed[key])
        or ("msgid_plural" in entry) != ("msgid_plural" in committed[key])
    ]

    assert len(found) > 300  # the extraction really ran over templates and code
    assert not missing, f"{len(missing)} messages have no English translation ({HOW_TO_FIX}):\n" + "\n".join(missing)


def test_the_po_file_has_no_untranslated_or_fuzzy_entries():
    entries = read_po(PO_FILE)

    untranslated = [msgid for (_ctx, msgid), entry in entries.items() if not is_translated(entry)]

    assert entries
    assert not untranslated, "Untranslated or fuzzy entries:\n" + "\n".join(untranslated)


def test_no_message_is_used_both_with_and_without_plural(extracted):
    """A msgid used by both gettext and ngettext gets one plural entry, so the singular use ends up wrong."""
    _found, warnings = extracted

    clashes = re.findall(r"msgid '(.*?)' is used without plural and with plural", warnings)

    assert not clashes, f"Give these a plural form everywhere or reword one use: {clashes}\n{warnings}"


def test_translations_keep_placeholders_and_markup():
    broken = [
        (msgid, text)
        for (_ctx, msgid), entry in read_po(PO_FILE).items()
        for text in translations_of(entry)
        if text and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]

    assert not broken, broken


def test_the_po_file_passes_msgfmt_check(tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(PO_FILE)], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr


def test_the_compiled_catalog_matches_the_po_file():
    assert MO_FILE.exists(), "locale/en/LC_MESSAGES/django.mo is missing: run manage.py compilemessages"
    with MO_FILE.open("rb") as fp:
        catalog = gettext.GNUTranslations(fp)._catalog

    stale = []
    for (ctx, msgid), entry in read_po(PO_FILE).items():
        key = f"{ctx}\x04{msgid}" if ctx else msgid
        if "msgid_plural" in entry:
            compiled = [catalog.get((key, n)) for n in range(len(translations_of(entry)))]
        else:
            compiled = [catalog.get(key)]
        if compiled != translations_of(entry):
            stale.append(msgid)

    assert not stale, f"django.mo is out of date (run manage.py compilemessages): {stale[:10]}"


# --- Pages and API follow the language -----------------------------------------------------------


def switch_language(client, language: str, next_url: str) -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": next_url})
    assert response.status_code == 302 and response.url == next_url


@pytest.mark.django_db
def test_sign_in_page_is_chinese_by_default_and_english_after_the_switch(client):
    url = reverse("account_request_login_code")

    chinese = client.get(url).content.decode()
    switch_language(client, "en", url)
    english = client.get(url).content.decode()
    switch_language(client, "zh-hans", url)
    chinese_again = client.get(url).content.decode()

    assert 'lang="zh-CN"' in chinese and "获取验证码" in chinese and "Send code" not in chinese
    assert 'lang="en"' in english and "Send code" in english and "Sign in with mobile" in english
    assert "获取验证码" not in english
    assert "获取验证码" in chinese_again


@pytest.mark.django_db
def test_dashboard_is_chinese_by_default_and_english_after_the_switch(operator_client, group):
    url = reverse("dashboard:groups")

    chinese = operator_client.get(url).content.decode()
    switch_language(operator_client, "en", url)
    english = operator_client.get(url).content.decode()

    assert "群列表" in chinese and "运营后台" in chinese
    assert "Operator dashboard" in english and ">Groups</a>" in english and "Change language" in english
    assert "群列表" not in english and "运营后台" not in english
    assert group.name in english  # operators' own data is shown as entered


@pytest.mark.django_db
def test_the_browser_language_is_used_until_a_choice_is_made(client):
    home = reverse("home")

    assert "Invite friends" in client.get(home, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "邀请好友" in client.get(home, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "邀请好友" in client.get(home, HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()  # unknown → Chinese
    switch_language(client, "zh-hans", home)
    assert "邀请好友" in client.get(home, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_form_errors_are_shown_in_english(client):
    url = reverse("account_request_login_code")
    switch_language(client, "en", url)

    page = client.post(url, {"phone": "12345"}).content.decode()

    assert "Enter a valid mainland China mobile number (11 digits, starting with 1)." in page
    assert "请输入有效的中国大陆手机号" not in page


@pytest.mark.django_db
def test_api_errors_come_in_the_language_the_client_asks_for(member, group, operator):
    api = APIClient()
    api.force_authenticate(member)
    group_services.add_member(group=group, user=member, by=operator)

    denied_zh = api.get(reverse("api-shop-groups"))
    denied_en = api.get(reverse("api-shop-groups"), HTTP_ACCEPT_LANGUAGE="en")
    no_key_en = api.post(reverse("api-my-group-orders", args=[group.pk]), {}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert denied_zh.status_code == denied_en.status_code == 403
    assert denied_zh.json()["errors"][0]["message"] == "您不是任何店铺的运营人员。"
    assert denied_en.json()["errors"][0]["message"] == "You are not an operator of any shop."
    assert no_key_en.status_code == 400
    assert no_key_en.json()["errors"][0] == {
        "field": "Idempotency-Key",
        "code": "required",
        "message": "Placing an order requires an Idempotency-Key header.",
    }


# --- No Chinese left on English pages --------------------------------------------------------------


@pytest.fixture
def english_shop(db):
    """A shop whose data (names, addresses, reasons) is all English, so any Chinese on a page is UI text."""
    with translation.override("en"):
        shop = ShopFactory(name="Acme Foods")
        owner = OperatorFactory(
            shop=shop, role=OperatorRole.OWNER, user__display_name="Olivia", user__is_staff=True
        ).user
        member = UserFactory(display_name="Mia")
        group = GroupFactory(shop=shop, name="Bakers", kind="interest", description="Bread talk", rules="Be kind")
        link = InviteLinkFactory(group=group, inviter=owner, label="Spring poster")
        group_services.join_via_link(user=member, code=link.code)
        group_services.join_via_link(user=owner, code=link.code)  # the owner sees the member pages too
        series = group_services.create_series(shop=shop, name="Skin care", by=owner)
        series.groups.update(name="Skin care 1")  # the series names new groups in Chinese ("…1群"): data, not UI
        sku = SkuFactory(product__shop=shop, product__name="Oat milk", product__description="Creamy", spec="1L")
        point = PickupPointFactory(shop=shop, name="North store", address="1 Main Street", opening_hours="9-21")
        address = DeliveryRequest(
            method="shipping", recipient_name="Mia", recipient_phone="13800138000", address="2 Side Street"
        )
        pending = place_order(
            member=member,
            group=group,
            lines=[LineRequest(sku.pk, 1)],
            delivery=address,
            idempotency_key=uuid.uuid4().hex,
        )
        paid = place_order(
            member=member,
            group=group,
            lines=[LineRequest(sku.pk, 2)],
            delivery=address,
            idempotency_key=uuid.uuid4().hex,
        )
        pay(paid, DjangoClientTransport(Client()))
        case = open_case(order=paid, member=member, reason="The box was dented")
    return {
        "shop": shop,
        "owner": owner,
        "member": member,
        "group": group,
        "link": link,
        "series": series,
        "product": sku.product,
        "sku": sku,
        "point": point,
        "pending": pending,
        "paid": paid,
        "case": case,
    }


OPERATOR_PAGES = [
    ("dashboard:groups", None),
    ("dashboard:group_create", None),
    ("dashboard:group_detail", "group"),
    ("dashboard:group_edit", "group"),
    ("dashboard:series_list", None),
    ("dashboard:series_create", None),
    ("dashboard:series_detail", "series"),
    ("dashboard:products", None),
    ("dashboard:product_create", None),
    ("dashboard:product_edit", "product"),
    ("dashboard:orders", None),
    ("dashboard:order_detail", "paid"),
    ("dashboard:order_detail", "pending"),
    ("dashboard:cases", None),
    ("dashboard:case_detail", "case"),
    ("dashboard:pickup_points", None),
    ("dashboard:pickup_point_edit", "point"),
    ("dashboard:shop_settings", None),
    ("dashboard:operators", None),
]
MEMBER_PAGES = [
    ("member:my_groups", None),
    ("member:group", "group"),
    ("member:my_invite", "group"),
    ("orders:group_shop", "group"),
    ("orders:product", "group+product"),
    ("orders:checkout", "group"),
    ("orders:my_orders", None),
    ("orders:member_order", "pending"),
    ("orders:member_order", "paid"),
    ("orders:cancel", "pending"),
    ("orders:refund", "paid"),
    ("orders:open_case", "paid"),
]
ANONYMOUS_PAGES = [
    ("home", None),
    ("account_login", None),
    ("account_request_login_code", None),
    ("member:landing", "link"),
]


def url_for(name: str, target: str | None, objects: dict) -> str:
    if target is None:
        return reverse(name)
    if name == "orders:checkout":  # the confirmation page lists what the product page sent
        return reverse(name, args=[objects["group"].pk]) + f"?sku={objects['sku'].pk}&qty=1"
    if target == "link":
        return reverse(name, args=[objects["link"].code])
    return reverse(name, args=[objects[part].pk for part in target.split("+")])


class _VisibleText(HTMLParser):
    """Text a person sees or hears: text nodes and the attributes browsers show (not form values)."""

    SHOWN = {"title", "placeholder", "aria-label", "alt"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.chunks, self._open = [], []  # _open: (tag, hides its content) of the elements we are inside

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.chunks += [value for name, value in attrs.items() if name in self.SHOWN and value]
        if tag not in self.VOID:
            self._open.append((tag, tag in ("script", "style") or attrs.get("aria-hidden") == "true"))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if not any(hidden for _tag, hidden in self._open):
            self.chunks.append(data)


def leftover_chinese(page: str) -> list[str]:
    """Chinese a person would see on a page, apart from the name of the language itself (简体中文)."""
    parser = _VisibleText()
    parser.feed(page)
    return sorted({chunk.strip() for chunk in parser.chunks if CJK.search(chunk) and chunk.strip() != "简体中文"})


@pytest.mark.parametrize(
    ("who", "name", "target"),
    [
        *[("owner", name, target) for name, target in OPERATOR_PAGES],
        *[("member", name, target) for name, target in MEMBER_PAGES],
        *[(None, name, target) for name, target in ANONYMOUS_PAGES],
    ],
    ids=lambda value: value if isinstance(value, str) else "-",
)
def test_pages_in_english_have_no_chinese_left(english_shop, who, name, target):
    client = Client()
    if who:
        client.force_login(english_shop[who])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(url_for(name, target, english_shop))

    leftover = leftover_chinese(response.content.decode())

    assert response.status_code == 200
    assert not leftover, f"Chinese on the English page (mark it for translation, or translate stored text): {leftover}"


def test_the_english_world_really_is_english(english_shop):
    """Guards the test above: its data must not bring Chinese of its own (e.g. a factory default)."""
    case = AfterSalesCase.objects.get(pk=english_shop["case"].pk)
    texts = [
        english_shop["shop"].name,
        english_shop["group"].name,
        english_shop["series"].name,
        case.reason,
        english_shop["product"].name,
        english_shop["point"].name,
        *english_shop["series"].groups.values_list("name", flat=True),
    ]

    assert not [text for text in texts if CJK.search(text)]


# Every page without URL arguments, found in the URLconf, so a new page is checked without listing it here.
SWEPT_NAMESPACES = ("dashboard", "platform", "member", "orders", "campaigns", "notifications", "boards")


def _pages_without_arguments(patterns, namespace=""):
    for pattern in patterns:
        if pattern.pattern.regex.groups:
            continue
        if isinstance(pattern, URLResolver):
            yield from _pages_without_arguments(
                pattern.url_patterns, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            )
        elif pattern.name and namespace.split(":")[0] in SWEPT_NAMESPACES:
            yield namespace + pattern.name


@pytest.mark.parametrize("name", sorted(set(_pages_without_arguments(get_resolver().url_patterns))))
def test_every_page_without_arguments_is_english_when_asked(english_shop, name):
    client = Client()
    client.force_login(english_shop["owner"])  # owner, platform staff and group member at once
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse(name))

    if response.status_code != 200 or not response["Content-Type"].startswith(("text/html", "text/csv")):
        pytest.skip(f"GET {name} answers {response.status_code} {response['Content-Type']}: not a page")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    leftover = leftover_chinese(body.decode())
    assert not leftover, f"Chinese on the English page (mark it for translation, or translate stored text): {leftover}"
