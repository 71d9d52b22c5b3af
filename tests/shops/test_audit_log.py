"""The owner reads the shop's audit log: who changed what and when, filtered by person, object type and
days, a page at a time in a constant number of queries; nobody else reads it, and no shop reads another's."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignState
from orders import catalog
from orders.models import Sku
from shops import audit
from shops import services as shop_services
from shops.models import AuditEntry, OperatorRole, ShopSettings
from tests.factories import OperatorFactory, ShopFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:audit_log")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _settings(shop, by, cap=300):
    shop_services.update_shop_settings(
        shop=shop, by=by, group_hard_cap=cap, default_group_capacity=150, default_rotation_threshold=140
    )


@pytest.fixture
def history(shop, owner, operator):
    """The owner changed the settings; an operator changed a price and the stock."""
    _settings(shop, owner)
    sku = SkuFactory(product__shop=shop, spec="500g", price=Decimal("39.90"), stock=10)
    catalog.save_sku(product=sku.product, by=operator, sku=sku, spec="500g", price=Decimal("35.00"))
    catalog.adjust_stock(sku=sku, by=operator, delta=5)
    return sku


def _entries(response) -> list[AuditEntry]:
    return list(response.context["page"])


def test_the_owner_sees_who_changed_what(history, owner, operator):
    response = _client(owner).get(URL)
    assert response.status_code == 200
    entries = _entries(response)
    assert [(e.action, e.actor_id) for e in entries] == [
        ("catalog.stock.adjust", operator.pk),
        ("catalog.sku.update", operator.pk),
        ("shop.settings.update", owner.pk),
    ]
    page = response.content.decode()
    assert "修改规格或价格" in page and "39.90" in page and "35.00" in page
    assert operator.public_name in page and "调整库存" in page


def test_filters_by_person_type_and_days(history, owner, operator, shop):
    client = _client(owner)
    assert {e.actor_id for e in _entries(client.get(URL, {"person": operator.pk}))} == {operator.pk}
    settings_type = ContentType.objects.get_for_model(ShopSettings)
    assert [e.action for e in _entries(client.get(URL, {"type": settings_type.pk}))] == ["shop.settings.update"]
    sku_type = ContentType.objects.get_for_model(Sku)
    assert len(_entries(client.get(URL, {"type": sku_type.pk, "person": operator.pk}))) == 2

    AuditEntry.objects.filter(action="shop.settings.update").update(at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()
    recent = _entries(client.get(URL, {"since": today - timedelta(days=1), "until": today}))
    assert {e.action for e in recent} == {"catalog.stock.adjust", "catalog.sku.update"}
    older = _entries(client.get(URL, {"until": today - timedelta(days=9)}))
    assert [e.action for e in older] == ["shop.settings.update"]


def test_a_person_who_is_not_in_the_log_is_not_a_choice(history, owner):
    stranger = UserFactory()
    response = _client(owner).get(URL, {"person": stranger.pk})
    assert response.context["form"].errors and len(_entries(response)) == 3  # an unknown choice filters nothing


def test_an_end_before_the_start_is_refused(history, owner):
    today = timezone.localdate()
    response = _client(owner).get(URL, {"since": today, "until": today - timedelta(days=1)})
    assert "until" in response.context["form"].errors


def test_another_shops_owner_sees_only_their_own_shops_log(history, shop):
    other = ShopFactory()
    other_owner = OperatorFactory(shop=other, role=OperatorRole.OWNER).user
    _settings(other, other_owner, cap=320)
    response = _client(other_owner).get(URL)
    assert [(e.shop_id, e.actor_id) for e in _entries(response)] == [(other.pk, other_owner.pk)]
    assert "35.00" not in response.content.decode()


@pytest.mark.parametrize("role", [OperatorRole.OPERATOR, OperatorRole.VIEWER])
def test_staff_who_are_not_owners_are_refused(history, shop, role):
    assert _client(OperatorFactory(shop=shop, role=role).user).get(URL).status_code == 403


def test_members_are_refused_and_strangers_sent_to_sign_in(history):
    assert _client(UserFactory()).get(URL).status_code == 403
    response = Client().get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_page_costs_the_same_queries_for_one_entry_or_fifty(shop, owner):
    client = _client(owner)
    _settings(shop, owner)
    client.get(URL)  # warm the session and the content types
    with CaptureQueriesContext(connection) as one:
        assert len(_entries(client.get(URL))) == 1
    for i in range(49):  # many people, many kinds of object
        actor = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
        if i % 2:
            _settings(shop, actor, cap=300 + i)
        else:
            sku = SkuFactory(product__shop=shop)
            catalog.adjust_stock(sku=sku, by=actor, delta=1)
    with CaptureQueriesContext(connection) as fifty:
        assert len(_entries(client.get(URL))) == 50
    assert len(fifty) == len(one), [q["sql"] for q in fifty.captured_queries]


def test_codes_and_rule_keys_are_shown_in_words(shop, owner):
    """A state is shown by its words and a campaign's rules key by key, as the settings form labels them."""
    entry = AuditEntry(
        shop=shop,
        actor=owner,
        action="campaign.update",
        target_type=ContentType.objects.get_for_model(Campaign),
        target_id=1,  # the rows are read from the entry alone
        before={"state": CampaignState.DRAFT, "settings": {"max_cuts": 3, "min_cuts": 2}},
        after={"state": CampaignState.SCHEDULED, "settings": {"max_cuts": 5, "min_cuts": 2}},
    )
    rows = audit.change_rows(entry)
    state_label = str(Campaign._meta.get_field("state").verbose_name)
    assert (state_label, str(CampaignState.DRAFT.label), str(CampaignState.SCHEDULED.label)) in rows
    [settings_row] = [row for row in rows if row[0] != state_label]  # min_cuts did not change: no row
    assert settings_row[1:] == ("3", "5")
    assert "max_cuts" not in settings_row[0] and settings_row[0].startswith(
        str(Campaign._meta.get_field("settings").verbose_name)
    )
