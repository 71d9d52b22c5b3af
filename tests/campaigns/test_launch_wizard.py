"""The campaign launch wizard (issue 18): type → product → the numbers that matter → preview → launch, for
every registered type through the registry. Each step checks what it asks with the editor's rules and
names the field in its messages; going back keeps what was typed; nothing is written before step 3 is
passed (then a draft, audited), and the launch is one audited write. Operators of the shop only: viewers
403, another shop's draft 404."""

from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import registry, services
from campaigns.models import Campaign, CampaignState
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory, ProductFactory, SkuFactory

from .throwaway_type.kind import CODE as STAMP
from .throwaway_type.kind import StampKind

pytestmark = pytest.mark.django_db

START = reverse("dashboard:campaign_launch")

# For each registered type: the essential numbers that make a valid campaign on a ¥59.90 SKU.
ESSENTIALS = {
    "group_buy": {"s-group_price": "39.90", "s-team_size": "3"},
    "help": {"s-helps_needed": "3", "s-reward_kind": "price", "s-reward_price": "9.90"},
    "bargain": {"s-floor_price": "9.90", "s-min_cuts": "3"},
    "flash_sale": {"s-flash_price": "9.90", "stock_cap": "100", "per_member_limit": "1"},
}


def new_url(code: str) -> str:
    return reverse("dashboard:campaign_launch_new", args=[code])


class Fields(HTMLParser):
    """The named fields of a page and their values (text, hidden, checked, selected, textarea)."""

    def __init__(self):
        super().__init__()
        self.data, self._textarea = {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "radio", "checkbox"):
            self.data[name] = attrs.get("value", "")
        elif tag == "input" and name and "checked" in attrs:
            self.data[name] = attrs.get("value", "on")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.removeprefix("\n") if not self.data[self._textarea] else data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def fields_of(response) -> dict:
    """Every field's value the page carries (the other step's hidden ones too), as a browser posts them."""
    parser = Fields()
    parser.feed(response.content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    for name in ("next", "language"):  # the language switch's own form
        parser.data.pop(name, None)
    return parser.data


def first_page(client, code: str) -> dict:
    """Step 2 as served."""
    response = client.get(new_url(code))
    assert response.status_code == 200
    return fields_of(response)


@pytest.fixture
def sku(shop):
    return SkuFactory(product=ProductFactory(shop=shop, name="有机胚芽米粉"), price=Decimal("59.90"), stock=50)


def to_numbers(client, code, sku, **extra):
    """Step 2 posted with `sku`: (what the page it answers carries, the response)."""
    data = {**first_page(client, code), "step": "product", "go": "next", "sku": sku.pk if sku else "", **extra}
    response = client.post(new_url(code), data)
    return {**fields_of(response), "sku": sku.pk if sku else ""}, response


# --- Step 1 -------------------------------------------------------------------------------------------


def test_step_one_offers_every_registered_type_with_its_line(operator_client):
    page = operator_client.get(START).content.decode()
    for kind in registry.all():
        assert new_url(kind.code) in page
        assert str(kind.label) in page and str(kind.summary) in page


def test_the_dashboard_home_and_the_campaign_list_lead_to_the_wizard(operator_client):
    for url in (reverse("dashboard:groups"), reverse("dashboard:campaigns")):
        page = operator_client.get(url).content.decode()
        assert f'href="{START}"' in page and "发起活动" in page


# --- Step 2: the product ------------------------------------------------------------------------------


def test_a_selling_type_needs_a_product_and_says_so_naming_the_field(operator_client, sku):
    _data, response = to_numbers(operator_client, "group_buy", None)
    assert response.status_code == 400
    page = response.content.decode()
    assert "商品规格：这种活动需要选择商品规格。" in page
    assert 'id="step-product">' in page  # still on step 2
    assert "拼团价（元）：" not in page  # step 3's numbers are not asked yet
    assert not Campaign.objects.exists() and not AuditEntry.objects.exists()


def test_the_made_name_is_the_products_once_one_is_chosen(operator_client, sku):
    data = {**first_page(operator_client, "group_buy"), "step": "product", "go": "next", "sku": ""}
    refused = operator_client.post(new_url("group_buy"), data)
    assert refused.status_code == 400 and 'name="name" value=' not in refused.content.decode()
    data = {**fields_of(refused), "step": "product", "go": "next", "sku": sku.pk}
    page = operator_client.post(new_url("group_buy"), data).content.decode()
    assert 'value="有机胚芽米粉 · 拼团"' in page


def test_another_shops_sku_is_refused(operator_client, other_shop):
    theirs = SkuFactory(product__shop=other_shop)
    _data, response = to_numbers(operator_client, "group_buy", theirs)
    assert response.status_code == 400
    assert "商品规格：请选择本店的商品规格。" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_chosen_product_leads_to_the_numbers_with_a_name_made_for_it(operator_client, sku):
    _data, response = to_numbers(operator_client, "group_buy", sku)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="step-numbers">' in page and 'id="step-product" hidden' in page
    assert 'value="有机胚芽米粉 · 拼团"' in page
    assert not Campaign.objects.exists() and not AuditEntry.objects.exists()


def test_a_type_that_does_not_sell_may_go_on_without_a_product(operator_client):
    _data, response = to_numbers(operator_client, "help", None, **{"s-reward_kind": "free_item"})
    assert response.status_code == 200 and 'id="step-numbers">' in response.content.decode()


# --- Step 3: the numbers ------------------------------------------------------------------------------


def test_missing_numbers_are_named_and_nothing_is_written(operator_client, sku):
    data, _response = to_numbers(operator_client, "group_buy", sku)
    data.update(step="numbers", go="next", name="有机胚芽米粉 · 拼团", **{"s-group_price": ""})
    response = operator_client.post(new_url("group_buy"), data)
    assert response.status_code == 400
    assert "拼团价（元）：请填写金额。" in response.content.decode()
    data["s-group_price"] = "59.90"
    response = operator_client.post(new_url("group_buy"), data)
    assert "拼团价（元）：拼团价必须低于商品原价 ¥59.90。" in response.content.decode()
    assert not Campaign.objects.exists() and not AuditEntry.objects.exists()


def test_an_error_in_a_folded_field_opens_the_advanced_settings(operator_client, sku):
    data, _response = to_numbers(operator_client, "group_buy", sku)
    data.update(step="numbers", go="next", name="有机胚芽米粉 · 拼团", stock_cap="0", **ESSENTIALS["group_buy"])
    page = operator_client.post(new_url("group_buy"), data).content.decode()
    assert "活动库存上限：不能小于 1。" in page
    assert '<details class="advanced" open>' in page


def test_going_back_keeps_what_was_typed(operator_client, sku):
    data, _response = to_numbers(operator_client, "group_buy", sku)
    data.update(step="numbers", go="back", name="周末团", **{"s-group_price": "41.50", "s-team_size": "5"})
    page = operator_client.post(new_url("group_buy"), data).content.decode()
    assert 'id="step-product">' in page
    assert f'value="{sku.pk}" checked' in page
    assert 'value="41.50"' in page and 'value="5"' in page and 'value="周末团"' in page
    assert "请填写" not in page  # going back checks nothing
    data.update(step="product", go="next")
    page = operator_client.post(new_url("group_buy"), data).content.decode()
    assert 'value="41.50"' in page and 'value="周末团"' in page  # the name typed is kept, not remade


def test_an_error_about_the_product_found_on_step_three_goes_back_to_step_two(operator_client):
    data, _response = to_numbers(operator_client, "help", None, **{"s-reward_kind": "free_item"})
    data.update(step="numbers", go="next", name="好友助力", **ESSENTIALS["help"])  # a price reward needs a SKU
    response = operator_client.post(new_url("help"), data)
    page = response.content.decode()
    assert response.status_code == 400 and 'id="step-product">' in page
    assert "商品规格：「助力价购买」需要选择活动商品规格。" in page


@pytest.mark.parametrize("code", sorted(ESSENTIALS))
def test_every_registered_type_asks_its_essentials_up_front_and_folds_the_rest(operator_client, operator, sku, code):
    kind = registry.get(code)
    engine = ("name", "starts_at", "ends_at", "stock_cap", "budget", "per_member_limit")
    assert kind.essential_settings and set(kind.essential_settings) <= {*kind.settings_form.base_fields, *engine}
    data, response = to_numbers(operator_client, code, sku)
    page = response.content.decode()
    folded = page[page.index('<details class="advanced"') :]
    up_front = page[page.index('id="step-numbers"') : page.index('<details class="advanced"')]
    for name in kind.settings_form.base_fields:
        assert (f'name="s-{name}"' in up_front) == (name in kind.essential_settings), name
        assert (f'name="s-{name}"' in folded) == (name not in kind.essential_settings), name
    for name in engine:  # the engine's numbers are folded, unless the type asks one up front
        assert (f'name="{name}"' in up_front) == (name in kind.essential_settings), name
        assert (f'name="{name}"' in folded) == (name not in kind.essential_settings), name

    data.update(step="numbers", go="next", **ESSENTIALS[code])
    response = operator_client.post(new_url(code), data)
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("dashboard:campaign_launch_preview", args=[campaign.pk])
    assert campaign.type == code and campaign.state == CampaignState.DRAFT and campaign.sku == sku
    assert campaign.name == f"有机胚芽米粉 · {kind.label}"
    assert campaign.ends_at - campaign.starts_at == timedelta(days=7)  # the defaults shown
    entry = AuditEntry.objects.get()
    assert entry.action == "campaign.create" and entry.actor == operator


@pytest.fixture
def stamp_type():
    kind = registry.register(StampKind())
    yield kind
    registry.unregister(STAMP)


def test_a_type_with_no_essentials_folds_everything_and_still_launches(stamp_type, operator_client):
    assert new_url(STAMP) in operator_client.get(START).content.decode()
    data, response = to_numbers(operator_client, STAMP, None)
    page = response.content.decode()
    assert "这种活动的规则都在「高级设置」里。" in page
    data.update(step="numbers", go="next", **{"s-stamps_needed": "0"})
    page = operator_client.post(new_url(STAMP), data).content.decode()
    assert "需要打卡次数：打卡次数须在 1–30 之间。" in page and '<details class="advanced" open>' in page
    data["s-stamps_needed"] = "7"
    assert operator_client.post(new_url(STAMP), data).status_code == 302
    assert Campaign.objects.get().settings == {"stamps_needed": 7}


def test_coming_back_to_the_draft_updates_it_instead_of_making_another(operator_client, sku):
    data, _response = to_numbers(operator_client, "group_buy", sku)
    data.update(step="numbers", go="next", **ESSENTIALS["group_buy"])
    operator_client.post(new_url("group_buy"), data)
    draft = Campaign.objects.get()
    url = reverse("dashboard:campaign_launch_draft", args=[draft.pk])
    page = operator_client.get(url).content.decode()
    assert 'id="step-numbers">' in page and 'value="39.90"' in page
    data["s-group_price"] = "35.00"
    response = operator_client.post(url, data)
    assert response.url == reverse("dashboard:campaign_launch_preview", args=[draft.pk])
    draft.refresh_from_db()
    assert Campaign.objects.count() == 1 and draft.settings["group_price"] == "35.00"
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "campaign.create",
        "campaign.update",
    ]


# --- Step 4: the preview and the launch -----------------------------------------------------------------


@pytest.fixture
def draft(shop, sku, operator):
    now = timezone.now()
    return services.create_campaign(
        shop=shop,
        by=operator,
        type="group_buy",
        name="有机胚芽米粉 · 拼团",
        starts_at=now,
        ends_at=now + timedelta(days=7),
        sku=sku,
        settings={"group_price": "39.90", "team_size": 3, "time_limit_minutes": 1440},
    )


def test_the_preview_shows_the_real_landing_page_and_poster_of_the_draft(operator_client, draft):
    page = operator_client.get(reverse("dashboard:campaign_launch_preview", args=[draft.pk])).content.decode()
    assert f'src="{reverse("dashboard:campaign_landing_preview", args=[draft.pk])}"' in page
    assert f'src="{reverse("dashboard:campaign_poster", args=[draft.pk])}"' in page
    framed = operator_client.get(reverse("dashboard:campaign_landing_preview", args=[draft.pk]))
    assert framed.status_code == 200 and framed["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed["Content-Security-Policy"]
    text = framed.content.decode()
    assert "¥39.90" in text and "3 人团" in text and "有机胚芽米粉" in text
    assert Client().get(draft.get_absolute_url()).status_code == 404  # members still cannot see it
    poster = operator_client.get(reverse("dashboard:campaign_poster", args=[draft.pk]))
    assert poster.content[:4] == b"\x89PNG"


def test_a_drafts_page_leads_back_to_its_preview(operator_client, draft):
    page = operator_client.get(reverse("dashboard:campaign_detail", args=[draft.pk])).content.decode()
    assert reverse("dashboard:campaign_launch_preview", args=[draft.pk]) in page
    assert f'src="{reverse("dashboard:campaign_poster", args=[draft.pk])}"' in page  # the poster, shown


def test_launching_now_runs_the_draft_with_one_audit_entry(operator_client, draft):
    response = operator_client.post(reverse("dashboard:campaign_launch_preview", args=[draft.pk]), {"when": "now"})
    assert response.url == reverse("dashboard:campaign_detail", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.state == CampaignState.RUNNING
    entry = AuditEntry.objects.filter(action="campaign.launch").get()
    assert entry.before["state"] == "draft" and entry.after["state"] == "running"
    assert "活动已上线" in operator_client.get(response.url).content.decode()


def test_scheduling_sets_the_start_and_waits_for_it(operator_client, draft):
    at = timezone.localtime() + timedelta(days=1)
    response = operator_client.post(
        reverse("dashboard:campaign_launch_preview", args=[draft.pk]),
        {"when": "later", "starts_at": at.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == CampaignState.SCHEDULED
    assert draft.starts_at == at.replace(second=0, microsecond=0)


@pytest.mark.parametrize(
    "posted, message",
    [
        ({"when": "later", "starts_at": ""}, "上线时间：定时上线请填写上线时间。"),
        ({"when": "later", "starts_at": "2020-01-01T08:00"}, "上线时间：定时上线的时间必须晚于现在。"),
        ({"when": "later", "starts_at": "明天"}, "上线时间：请输入正确的时间。"),
        ({"when": "later", "starts_at": "AFTER_END"}, "结束时间：结束时间必须晚于开始时间。"),
    ],
)
def test_a_bad_start_is_named_and_the_draft_stays(operator_client, draft, posted, message):
    if posted["starts_at"] == "AFTER_END":
        posted["starts_at"] = timezone.localtime(draft.ends_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = operator_client.post(reverse("dashboard:campaign_launch_preview", args=[draft.pk]), posted)
    assert response.status_code == 400 and message in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == CampaignState.DRAFT and not AuditEntry.objects.filter(action="campaign.launch").exists()


def test_a_campaign_past_its_draft_leaves_the_wizard_for_its_page(operator_client, draft, operator):
    services.launch_campaign(campaign=draft, by=operator)
    for name in ("campaign_launch_preview", "campaign_launch_draft"):
        response = operator_client.get(reverse(f"dashboard:{name}", args=[draft.pk]))
        assert response.status_code == 302 and response.url == reverse("dashboard:campaign_detail", args=[draft.pk])


# --- Who may ------------------------------------------------------------------------------------------


def test_viewers_may_not_launch(client, viewer, draft, sku):
    client.force_login(viewer)
    assert client.get(START).status_code == 403
    assert client.get(new_url("group_buy")).status_code == 403
    assert client.post(new_url("group_buy"), {"step": "product", "go": "next", "sku": sku.pk}).status_code == 403
    assert client.get(reverse("dashboard:campaign_launch_draft", args=[draft.pk])).status_code == 403
    preview = reverse("dashboard:campaign_launch_preview", args=[draft.pk])
    assert client.post(preview, {"when": "now"}).status_code == 403
    draft.refresh_from_db()
    assert draft.state == CampaignState.DRAFT and not Campaign.objects.exclude(pk=draft.pk).exists()


def test_another_shops_draft_is_not_found(draft, other_shop):
    stranger = Client()
    stranger.force_login(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)
    for name in ("campaign_launch_draft", "campaign_launch_preview", "campaign_landing_preview"):
        assert stranger.get(reverse(f"dashboard:{name}", args=[draft.pk])).status_code == 404
    assert (
        stranger.post(reverse("dashboard:campaign_launch_preview", args=[draft.pk]), {"when": "now"}).status_code == 404
    )
    draft.refresh_from_db()
    assert draft.state == CampaignState.DRAFT


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(START)
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_an_unknown_type_is_not_found(operator_client):
    assert operator_client.get(new_url("nonesuch")).status_code == 404


# --- Query counts -------------------------------------------------------------------------------------


def test_the_product_step_reads_a_constant_number_of_queries(
    operator_client, operator, shop, settings, tmp_path, django_assert_num_queries
):
    settings.MEDIA_ROOT = tmp_path
    from tests.orders.dashboard_support import png

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(new_url("group_buy")).status_code == 200
        return len(queries)

    SkuFactory(product__shop=shop)
    one = count()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from orders import catalog

    for _ in range(9):
        product = SkuFactory(product__shop=shop).product
        catalog.add_product_image(
            product=product, by=operator, upload=SimpleUploadedFile("a.png", png(), content_type="image/png")
        )
    assert count() == one
    with django_assert_num_queries(one):
        operator_client.get(new_url("group_buy"))


def test_step_one_reads_a_constant_number_of_queries(operator_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        operator_client.get(START)


# --- In English -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(ESSENTIALS))
def test_every_step_is_english_when_asked(operator, shop, code):
    """Every wizard page of every type in English, a failed step included: no Chinese left in the UI."""
    from django.conf import settings

    from tests.test_i18n import leftover_chinese

    shop.name, operator.display_name = "Acme Foods", "Olivia"  # the data in English: any Chinese left is UI
    shop.save()
    operator.save()
    sku = SkuFactory(product=ProductFactory(shop=shop, name="Oat milk"), spec="1L", price=Decimal("59.90"))
    client = Client()
    client.force_login(operator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    pages = {"type": client.get(START), "product": client.get(new_url(code))}
    pages["product error"] = client.post(
        new_url(code), {**fields_of(pages["product"]), "step": "product", "go": "next"}
    )
    data, pages["numbers"] = to_numbers(client, code, sku)
    assert 'value="Oat milk · ' in pages["numbers"].content.decode()
    pages["numbers error"] = client.post(new_url(code), {**data, "step": "numbers", "go": "next", "stock_cap": "0"})
    client.post(new_url(code), {**data, "step": "numbers", "go": "next", **ESSENTIALS[code]})
    draft = Campaign.objects.get()
    for name in ("campaign_launch_draft", "campaign_launch_preview", "campaign_landing_preview"):
        pages[name] = client.get(reverse(f"dashboard:{name}", args=[draft.pk]))
    pages["launch error"] = client.post(
        reverse("dashboard:campaign_launch_preview", args=[draft.pk]), {"when": "later", "starts_at": ""}
    )

    assert "Unlimited" in pages["numbers"].content.decode() or "No limit" in pages["numbers"].content.decode()
    for step, response in pages.items():
        assert response.status_code in (200, 400), step
        assert not leftover_chinese(response.content.decode()), (step, leftover_chinese(response.content.decode()))


def test_the_numbers_step_reads_a_constant_number_of_queries(operator_client, shop, draft):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import GroupFactory

    url = reverse("dashboard:campaign_launch_draft", args=[draft.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(url).status_code == 200
        return len(queries)

    GroupFactory(shop=shop)
    one = count()
    for _ in range(9):
        GroupFactory(shop=shop)
        SkuFactory(product__shop=shop)
    assert count() == one
