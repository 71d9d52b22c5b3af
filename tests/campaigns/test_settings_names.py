"""The campaign page's rules name what a setting points at, never its id: a 助力 campaign's reward coupon and
a 打卡 campaign's milestone coupons by their templates' names and faces, a coupon template's products, groups
and tags and a contest's tags and pickup point by their names. The templates of every milestone are read
in one query, and a template deleted or of another shop shows as 已失效的券 (translated), never its name. A 助力
campaign's rules show the setting of its own reward kind only, not the other kinds' (助力价, 赠品名称)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from campaigns import registry
from campaigns.models import Campaign, CampaignType
from tests.builders.campaigns import coupon_template, make_campaign
from tests.campaigns.checkin_support import checkin_campaign
from tests.campaigns.contest_support import contest
from tests.campaigns.coupon_support import sku_of
from tests.campaigns.social_support import help_campaign
from tests.factories import GroupFactory, PickupPointFactory, ProductFactory, ShopFactory, TagFactory

pytestmark = pytest.mark.django_db

PERCENT_15 = {"coupon_kind": "percent", "percent_off": 15, "amount_off": None, "threshold": None}


def _detail(client, campaign):
    response = client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert response.status_code == 200
    return dict(response.context["settings_shown"]), response.content.decode()


def _queries(client, campaign) -> int:
    with CaptureQueriesContext(connection) as queries:
        _detail(client, campaign)
    return len(queries)


def _help_with_coupon(shop, template):
    return make_campaign(
        shop,
        sku_of(shop),
        type=CampaignType.HELP,
        name="三人助力领券",
        settings={"helps_needed": 3, "time_limit_minutes": 60, "reward_kind": "coupon", "reward_coupon": template.pk},
    )


def _point_at(campaign, **settings):
    """Change stored settings behind the rules' back (a template deleted or moved since the campaign was saved)."""
    Campaign.objects.filter(pk=campaign.pk).update(settings={**campaign.settings, **settings})


def _gone_id() -> int:
    return (Campaign.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def test_a_help_campaign_names_its_reward_coupon(operator_client, shop):
    template = coupon_template(shop, name="满百减二十")
    campaign = _help_with_coupon(shop, template)
    shown, html = _detail(operator_client, campaign)
    assert shown["奖励优惠券"] == "满百减二十 · 满 100 减 20（进行中）"
    assert "满百减二十 · 满 100 减 20" in html and f"<dt>奖励优惠券</dt><dd>{template.pk}</dd>" not in html


def test_a_help_campaign_with_a_coupon_reward_shows_no_price_or_free_item_row(operator_client, shop):
    shown, html = _detail(operator_client, _help_with_coupon(shop, coupon_template(shop, name="满百减二十")))
    assert shown["奖励方式"] == "优惠券（集齐后自动发到券包）" and "奖励优惠券" in shown
    assert "助力价（元）" not in shown and "赠品名称" not in shown
    assert "<dt>助力价（元）</dt>" not in html and "<dt>赠品名称</dt>" not in html


def test_a_help_campaign_shows_the_row_of_its_own_reward_kind_only(operator_client, shop):
    free_item = help_campaign(shop, settings={"reward_kind": "free_item", "reward_price": None, "reward_label": "小熊"})
    shown, html = _detail(operator_client, free_item)
    assert shown["奖励方式"] == "赠品（商家发放）" and shown["赠品名称"] == "小熊"
    assert "助力价（元）" not in shown and "奖励优惠券" not in shown
    assert "<dt>赠品名称</dt><dd>小熊</dd>" in html
    shown, _html = _detail(operator_client, help_campaign(shop))
    assert shown["助力价（元）"] == "¥0.01"
    assert "赠品名称" not in shown and "奖励优惠券" not in shown


def test_a_check_in_campaign_names_the_coupon_of_each_milestone(operator_client, shop):
    first, second = coupon_template(shop, name="满百减二十"), coupon_template(shop, name="八五折", settings=PERCENT_15)
    campaign = checkin_campaign(
        shop, settings={"milestones": "7:10", "milestone_coupons": f"7:{first.pk},21:{second.pk}"}
    )
    shown, html = _detail(operator_client, campaign)
    assert shown["连续打卡奖励优惠券"] == (
        "连续 7 天：满百减二十 · 满 100 减 20（进行中）；连续 21 天：八五折 · 8.5 折（减 15%）（进行中）"
    )
    assert shown["连续打卡奖励"] == "连续 7 天：10 积分"
    assert f"[[7, {first.pk}]" not in html and "[[7, 10]]" not in html


def test_the_milestone_templates_are_read_in_one_query_however_many_milestones(operator_client, shop):
    one = checkin_campaign(shop, settings={"milestone_coupons": f"7:{coupon_template(shop, name='券 0').pk}"})
    templates = [coupon_template(shop, name=f"券 {n}") for n in range(1, 9)]
    many = checkin_campaign(
        shop, settings={"milestone_coupons": ",".join(f"{7 * n}:{t.pk}" for n, t in enumerate(templates, 1))}
    )
    _detail(operator_client, one)  # the first request of a session warms what later ones read from the cache
    assert _queries(operator_client, many) == _queries(operator_client, one)
    shown, _html = _detail(operator_client, many)
    assert all(f"连续 {7 * n} 天：券 {n} · " in shown["连续打卡奖励优惠券"] for n in range(1, 9))


def test_a_template_deleted_or_of_another_shop_shows_as_gone_never_by_its_name(operator_client, shop):
    elsewhere = coupon_template(ShopFactory(), name="别家的券")
    help_campaign = _help_with_coupon(shop, coupon_template(shop))
    _point_at(help_campaign, reward_coupon=elsewhere.pk)
    mine = coupon_template(shop, name="本店的券")
    checkin = checkin_campaign(shop, settings={"milestone_coupons": f"7:{mine.pk}"})
    _point_at(checkin, milestone_coupons=[[7, mine.pk], [14, elsewhere.pk], [21, _gone_id()]])

    shown, html = _detail(operator_client, help_campaign)
    assert shown["奖励优惠券"] == "已失效的券"
    assert "别家的券" not in html and f"<dt>奖励优惠券</dt><dd>{elsewhere.pk}</dd>" not in html
    shown, html = _detail(operator_client, checkin)
    assert shown["连续打卡奖励优惠券"] == (
        "连续 7 天：本店的券 · 满 100 减 20（进行中）；连续 14 天：已失效的券；连续 21 天：已失效的券"
    )
    assert "别家的券" not in html
    with translation.override("en"):
        words = registry.get(CampaignType.CHECKIN).settings_words(Campaign.objects.get(pk=checkin.pk))
    assert "14 days in a row: Coupon no longer available" in words["milestone_coupons"]


def test_a_coupon_template_names_its_products_groups_and_tags(operator_client, shop):
    product, group, tag = ProductFactory(shop=shop, name="有机米粉"), GroupFactory(shop=shop), TagFactory(shop=shop)
    other_tag = TagFactory(shop=ShopFactory(), name="别家的标签")
    by_products = coupon_template(shop, settings={"scope": "products", "scope_products": str(product.pk)})
    by_groups = coupon_template(
        shop, settings={"scope": "groups", "scope_groups": str(group.pk), "audience": "tags", "audience_tags": tag.name}
    )
    _point_at(by_groups, audience_tags=[tag.pk, other_tag.pk])

    shown, _html = _detail(operator_client, by_products)
    assert shown["指定商品"] == "有机米粉" and shown["指定群"] == "—" and shown["成员标签"] == "—"
    shown, html = _detail(operator_client, by_groups)
    assert shown["指定群"] == group.name and shown["成员标签"] == f"{tag.name}、已失效的标签"
    assert "别家的标签" not in html and f"[{group.pk}]" not in html


def test_a_contest_names_its_tags_and_pickup_point(operator_client, shop):
    tag, point = TagFactory(shop=shop, name="宝妈"), PickupPointFactory(shop=shop, name="望京店")
    campaign = contest(
        shop, settings={"scope": "tags", "tags": "宝妈", "tiers": "1 实物 蓝牙音箱 199", "pickup_point": "望京店"}
    )
    shown, html = _detail(operator_client, campaign)
    assert shown["成员标签"] == "宝妈" and shown["实物领奖自提点"] == "望京店"
    assert f"[{tag.pk}]" not in html and f"<dt>实物领奖自提点</dt><dd>{point.pk}</dd>" not in html


def test_the_rules_show_no_comment_of_their_template(operator_client, shop):
    _shown, html = _detail(operator_client, checkin_campaign(shop))
    assert "{#" not in html and "dashboard_rules.html" not in html
