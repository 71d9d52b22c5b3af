"""送 赠送 pages and API: the landing page's call to act, the gift card a friend opens (sign in → claim), who
may see a gift (anyone holding the link while it is open; then only its giver and recipient), the member's
gifts, and the operators' fulfilment queue (another shop's item is a 404; a hand-over is audited with who did
it; viewers read only). List pages run in a constant number of queries."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Gift, GiftState
from campaigns.types.give import kind as giving
from orders import fulfilment
from orders.models import FulfilmentItem, FulfilmentState, Order, OrderState
from shops.models import AuditEntry, OperatorRole
from tests.campaigns.give_support import ADDRESS, friend, give_campaign, giver_in, paid_gift, pickup_at
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def give(shop):
    return give_campaign(shop)


@pytest.fixture
def giver(shop):
    return giver_in(shop)[0]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# --- The member's pages --------------------------------------------------------------------------------------


def test_the_landing_page_offers_to_buy_a_gift_and_the_tap_places_the_gift_order(give, giver):
    member = _client(giver)
    landing = member.get(give.get_absolute_url())
    assert landing.status_code == 200
    assert 'data-testid="buy-gift"' in landing.content.decode()

    response = member.post(reverse("campaigns:give_buy", args=[give.pk]), {"idempotency_key": "k-1", "message": "谢谢"})

    order = Order.objects.get(member=giver)
    assert response.status_code == 302 and response.url == reverse("orders:member_order", args=[order.pk])
    assert order.state == OrderState.PENDING_PAYMENT and order.note == "谢谢"
    member.post(reverse("campaigns:give_buy", args=[give.pk]), {"idempotency_key": "k-1", "message": "谢谢"})
    assert Order.objects.filter(member=giver).count() == 1  # a double tap places one order


def test_a_signed_out_visitor_is_asked_to_sign_in_to_buy(client, give):
    response = client.post(reverse("campaigns:give_buy", args=[give.pk]))
    assert response.status_code == 302 and "/accounts/" in response.url
    assert not Order.objects.exists()


def test_a_friend_opens_the_link_signs_in_and_claims(client, shop, give, giver, transport):
    gift = paid_gift(give, giver, transport)
    point, _at_pickup = pickup_at(shop)
    card = client.get(gift.get_absolute_url())
    assert card.status_code == 200 and 'data-testid="sign-in-to-claim"' in card.content.decode()

    mate = friend()
    client.force_login(mate)
    assert 'data-testid="claim-gift"' in client.get(gift.get_absolute_url()).content.decode()
    response = client.post(
        reverse("campaigns:gift_claim", args=[gift.token]),
        {"delivery": "pickup", "recipient_name": "韩梅梅", "recipient_phone": "13700137000", "pickup_point": point.pk},
    )

    assert response.status_code == 302 and response.url == gift.get_absolute_url()
    gift.refresh_from_db()
    assert gift.state == GiftState.CLAIMED and gift.recipient == mate
    assert FulfilmentItem.objects.get(key=f"gift:{gift.pk}").pickup_point == point


def test_a_claim_without_a_destination_is_refused_on_the_form(client, give, giver, transport):
    gift = paid_gift(give, giver, transport)
    client.force_login(friend())
    response = client.post(reverse("campaigns:gift_claim", args=[gift.token]), {"delivery": "shipping"})
    assert response.status_code == 400 and "请填写收货地址" in response.content.decode()
    gift.refresh_from_db()
    assert gift.state == GiftState.OPEN


def test_once_claimed_only_the_giver_and_the_recipient_see_the_gift(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    mate = friend()
    giving.claim_gift(gift=gift, member=mate, delivery=ADDRESS)
    url = gift.get_absolute_url()

    assert _client(giver).get(url).status_code == 200
    assert _client(mate).get(url).status_code == 200
    assert _client(friend()).get(url).status_code == 404
    assert Client().get(url).status_code == 404
    assert _client(friend()).post(reverse("campaigns:gift_claim", args=[gift.token]), {}).status_code == 404
    api = _client(friend()).get(reverse("api-gift", args=[gift.token]))
    assert api.status_code == 404


def test_an_unknown_link_is_a_404(client, give):
    client.force_login(friend())
    assert client.get(reverse("campaigns:gift", args=["no-such-gift"])).status_code == 404


def test_only_the_giver_gets_the_gifts_qr_and_poster(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    for name in ("campaigns:gift_qr", "campaigns:gift_poster"):
        url = reverse(name, args=[gift.token])
        assert _client(giver).get(url)["Content-Type"] == "image/png"
        assert _client(friend()).get(url).status_code == 404


def test_my_gifts_lists_given_and_received_in_constant_queries(shop, give, giver, transport):
    member = _client(giver)
    first = paid_gift(give, giver, transport)
    member.get(reverse("campaigns:my_gifts"))  # the first visit may write the session
    one = _queries(member, reverse("campaigns:my_gifts"))
    for _ in range(4):
        paid_gift(give, giver, transport)
    giving.claim_gift(gift=first, member=friend(), delivery=ADDRESS)
    page = member.get(reverse("campaigns:my_gifts"))
    assert page.content.decode().count('class="card"') == 5
    assert _queries(member, reverse("campaigns:my_gifts")) == one


# --- The member API ------------------------------------------------------------------------------------------


def test_the_api_claims_once_and_answers_409_after(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    body = {"delivery": "shipping", "recipient_name": "李雷", "recipient_phone": "13900139000", "address": "杭州"}
    first = _client(friend()).post(reverse("api-gift-claim", args=[gift.token]), body, content_type="application/json")
    assert first.status_code == 200 and first.json()["state"] == "claimed"

    second = _client(friend()).post(reverse("api-gift-claim", args=[gift.token]), body, content_type="application/json")
    assert second.status_code == 404  # claimed: no longer anyone's but the giver's and the recipient's

    mine = _client(giver).get(reverse("api-my-gifts")).json()
    assert [g["state"] for g in mine] == ["claimed"] and mine[0]["share_url"] == ""


def test_the_api_buys_a_gift_with_an_idempotency_key(give, giver):
    member = _client(giver)
    url = reverse("api-give-buy", args=[give.pk])
    assert member.post(url, {}, content_type="application/json").status_code == 400
    placed = member.post(url, {"message": "送你"}, content_type="application/json", headers={"Idempotency-Key": "g1"})
    assert placed.status_code == 201 and placed.json()["state"] == "pending_payment"
    again = member.post(url, {"message": "送你"}, content_type="application/json", headers={"Idempotency-Key": "g1"})
    assert again.json()["id"] == placed.json()["id"]


def test_the_api_refuses_the_giver_claiming_their_own_gift(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    response = _client(giver).post(
        reverse("api-gift-claim", args=[gift.token]),
        {"delivery": "shipping", "recipient_name": "王芳", "recipient_phone": "13800138000", "address": "上海"},
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "own_gift"


# --- The fulfilment queue ------------------------------------------------------------------------------------


def _owed(shop, give, giver, transport, n=1) -> list[FulfilmentItem]:
    items = []
    for _ in range(n):
        gift = paid_gift(give, giver, transport)
        _point, at_pickup = pickup_at(shop)
        giving.claim_gift(gift=gift, member=friend(), delivery=at_pickup)
        items.append(FulfilmentItem.objects.get(key=f"gift:{gift.pk}"))
    return items


def test_the_queue_lists_owed_items_in_constant_queries(shop, give, giver, transport, operator_client):
    _owed(shop, give, giver, transport, 1)
    operator_client.get(reverse("dashboard:fulfilment"))  # the first visit may write the session
    one = _queries(operator_client, reverse("dashboard:fulfilment"))
    _owed(shop, give, giver, transport, 5)
    page = operator_client.get(reverse("dashboard:fulfilment"))
    assert len(page.context["items"]) == 6 and "望京店" in page.content.decode()
    assert _queries(operator_client, reverse("dashboard:fulfilment")) == one


def test_handing_over_is_recorded_with_who_did_it_once(shop, give, giver, transport, operator, operator_client):
    (item,) = _owed(shop, give, giver, transport)

    response = operator_client.post(reverse("dashboard:fulfilment_hand_over", args=[item.pk]))

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == FulfilmentState.HANDED_OVER and item.handed_over_by == operator
    entry = AuditEntry.objects.get(action="fulfilment.hand_over")
    assert entry.actor == operator and entry.shop_id == shop.pk and entry.target_id == item.pk
    assert Order.objects.get(pk=item.order_id).state == OrderState.SHIPPED  # the gift order's own page agrees
    operator_client.post(reverse("dashboard:fulfilment_hand_over", args=[item.pk]))
    assert AuditEntry.objects.filter(action="fulfilment.hand_over").count() == 1
    handed = operator_client.get(reverse("dashboard:fulfilment") + "?state=handed_over")
    assert [i.pk for i in handed.context["items"]] == [item.pk]


def test_a_shipped_item_needs_its_tracking_number(shop, give, giver, transport, operator):
    gift = paid_gift(give, giver, transport)
    giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)
    item = FulfilmentItem.objects.get(key=f"gift:{gift.pk}")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        fulfilment.hand_over(item=item, by=operator)
    fulfilment.hand_over(item=item, by=operator, tracking_number="SF123")
    item.refresh_from_db()
    assert item.tracking_number == "SF123" and Order.objects.get(pk=gift.order_id).tracking_number == "SF123"


def test_another_shops_operator_gets_404_and_a_viewer_cannot_hand_over(shop, other_shop, give, giver, transport):
    (item,) = _owed(shop, give, giver, transport)
    stranger = _client(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)
    assert stranger.post(reverse("dashboard:fulfilment_hand_over", args=[item.pk])).status_code == 404
    assert item.pk not in [i.pk for i in stranger.get(reverse("dashboard:fulfilment")).context["items"]]
    viewer = _client(OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user)
    assert viewer.get(reverse("dashboard:fulfilment")).status_code == 200
    assert viewer.post(reverse("dashboard:fulfilment_hand_over", args=[item.pk])).status_code == 403
    item.refresh_from_db()
    assert item.state == FulfilmentState.OWED


def test_owing_the_same_act_twice_owes_once(shop, giver):
    point, at_pickup = pickup_at(shop)
    first = fulfilment.owe_item(
        shop_id=shop.pk,
        member=giver,
        source="contest:1",
        key="prize:1:1",
        label="签名书",
        destination=fulfilment.Destination(**at_pickup.__dict__),
    )
    again = fulfilment.owe_item(
        shop_id=shop.pk,
        member=giver,
        source="contest:1",
        key="prize:1:1",
        label="签名书",
        destination=fulfilment.Destination(**at_pickup.__dict__),
    )
    assert first.pk == again.pk and first.order is None and FulfilmentItem.objects.count() == 1
    assert Gift.objects.count() == 0


# --- Where the type shows ------------------------------------------------------------------------------------


def test_the_dashboards_campaign_list_and_the_member_group_page_show_the_give_type(shop, give, operator_client):
    listed = operator_client.get(reverse("dashboard:campaigns")).content.decode()
    assert give.name in listed and "赠送" in listed

    giver, group = giver_in(shop)
    page = _client(giver).get(reverse("member:group", args=[group.pk])).content.decode()
    assert give.get_absolute_url() in page and "买一份送好友 · ¥25.00" in page


def test_a_treat_campaigns_offer_says_both_get_it_free(shop):
    treat = give_campaign(shop, settings={"mode": "treat"})
    giver, group = giver_in(shop)
    page = _client(giver).get(reverse("member:group", args=[group.pk])).content.decode()
    assert treat.get_absolute_url() in page and "请好友喝一杯 · 两人免费得" in page


def test_the_admin_lists_gifts_read_only_and_never_shows_the_links_secret(admin_client, give, giver, transport):
    gift = paid_gift(give, giver, transport)
    listed = admin_client.get(reverse("admin:campaigns_gift_changelist"))
    assert listed.status_code == 200 and [row.pk for row in listed.context["cl"].result_list] == [gift.pk]
    detail = admin_client.get(reverse("admin:campaigns_gift_change", args=[gift.pk]))
    assert detail.status_code == 200 and gift.token not in detail.content.decode()
    assert admin_client.get(reverse("admin:campaigns_gift_add")).status_code == 403
    assert admin_client.post(reverse("admin:campaigns_gift_delete", args=[gift.pk]), {"post": "yes"}).status_code == 403
    assert Gift.objects.filter(pk=gift.pk).exists()
