"""The coupon template pickers of the dashboard's campaign editor: a help campaign's reward coupon and a
check-in's milestone coupons are chosen from the shop's own live coupon templates (their names shown), not
typed as numbers. Another shop's template, or one that is over, is never offered, and posting its id by hand
is refused with the types' own messages; the stored format is unchanged."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignState, CampaignType
from campaigns.types.checkin.forms import CheckinSettingsForm
from campaigns.types.help.forms import HelpSettingsForm
from tests.builders.campaigns import coupon_template
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def templates(shop):
    mine = coupon_template(shop, name="助力专享券")
    over = coupon_template(shop, name="已结束的券")
    Campaign.objects.filter(pk=over.pk).update(state=CampaignState.ENDED)
    theirs = coupon_template(ShopFactory(), name="别家的券")
    return mine, over, theirs


def _engine(kind: str, name: str) -> dict:
    now = timezone.localtime()
    return {
        "type": kind,
        "name": name,
        "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=21)).strftime("%Y-%m-%dT%H:%M"),
        "all_groups": "on",
        "hook_title": name,
    }


def _help(coupon_id) -> dict:
    return {
        **_engine(CampaignType.HELP, "三人助力得券"),
        "s-helps_needed": "3",
        "s-time_limit_minutes": "120",
        "s-reward_kind": "coupon",
        "s-reward_coupon": str(coupon_id),
    }


def test_the_help_reward_coupon_is_a_choice_of_the_shops_own_live_templates(shop, templates):
    mine, over, theirs = templates
    offered = dict(HelpSettingsForm(shop=shop).fields["reward_coupon"].widget.choices)
    assert set(offered) == {"", str(mine.pk)}
    assert offered[str(mine.pk)] == "助力专享券 · 满 100 减 20（进行中）"
    assert dict(HelpSettingsForm().fields["reward_coupon"].widget.choices) == {"": "请选择优惠券"}


def test_the_help_editor_shows_the_picker_and_saves_the_chosen_template(operator_client, shop, templates):
    mine, _over, theirs = templates
    page = operator_client.get(reverse("dashboard:campaign_create") + "?type=help").content.decode()
    assert "助力专享券 · 满 100 减 20" in page and "别家的券" not in page and "已结束的券" not in page

    response = operator_client.post(reverse("dashboard:campaign_create"), _help(mine.pk))

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Campaign.objects.get(type=CampaignType.HELP).settings["reward_coupon"] == mine.pk


@pytest.mark.parametrize("which", ["theirs", "over"])
def test_the_help_editor_refuses_a_template_posted_by_hand_that_is_not_offered(operator_client, templates, which):
    _mine, over, theirs = templates
    response = operator_client.post(
        reverse("dashboard:campaign_create"), _help((theirs if which == "theirs" else over).pk)
    )
    assert response.status_code in (200, 400)
    assert "请选择本店的优惠券作为奖励。" in response.content.decode()
    assert not Campaign.objects.filter(type=CampaignType.HELP).exists()


def _checkin(**rows) -> dict:
    return {
        **_engine(CampaignType.CHECKIN, "21 天早起打卡"),
        "s-window_start": "05:00",
        "s-window_end": "09:00",
        "s-proof": "text",
        **{f"s-milestone_coupons-{key.replace('_', '-')}": str(value) for key, value in rows.items()},
    }


def test_each_milestone_row_picks_one_of_the_shops_own_live_templates(shop, templates):
    mine, over, theirs = templates
    widget = CheckinSettingsForm(shop=shop).fields["milestone_coupons"].widget
    assert {value for value, _words in widget.choices} == {"", str(mine.pk)}
    html = widget.render("s-milestone_coupons", [[7, mine.pk]])
    assert 'name="s-milestone_coupons-days-0" value="7"' in html
    assert f'<option value="{mine.pk}" selected>助力专享券 · 满 100 减 20（进行中）</option>' in html
    assert "别家的券" not in html and "已结束的券" not in html


def test_the_check_in_editor_saves_the_rows_in_the_stored_format(operator_client, shop, templates):
    mine, _over, _theirs = templates
    page = operator_client.get(reverse("dashboard:campaign_create") + "?type=checkin").content.decode()
    assert 'name="s-milestone_coupons-template-0"' in page and "助力专享券" in page and "别家的券" not in page

    response = operator_client.post(
        reverse("dashboard:campaign_create"), _checkin(days_0=21, template_0=mine.pk, days_1=7, template_1=mine.pk)
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Campaign.objects.get(type=CampaignType.CHECKIN).settings["milestone_coupons"] == [
        [7, mine.pk],
        [21, mine.pk],
    ]


@pytest.mark.parametrize("which", ["theirs", "over"])
def test_the_check_in_editor_refuses_a_template_posted_by_hand_that_is_not_offered(operator_client, templates, which):
    _mine, over, theirs = templates
    template = theirs if which == "theirs" else over
    response = operator_client.post(reverse("dashboard:campaign_create"), _checkin(days_0=7, template_0=template.pk))
    assert response.status_code in (200, 400)
    assert f"券模板编号 {template.pk} 不是本店的优惠券活动。" in response.content.decode()
    assert not Campaign.objects.filter(type=CampaignType.CHECKIN).exists()


def test_a_half_filled_milestone_row_gets_the_format_message(operator_client, templates):
    response = operator_client.post(reverse("dashboard:campaign_create"), _checkin(days_0=7))
    assert "里程碑优惠券请按「天数:券模板编号」填写" in response.content.decode()
    assert not Campaign.objects.filter(type=CampaignType.CHECKIN).exists()
