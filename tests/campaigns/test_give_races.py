"""送 赠送 under real concurrent transactions: a gift tapped by many friends at once is claimed once (one
recipient, one owed item); the expiry job run twice at once refunds the giver once. Each with a control that
shows the race without the guards (the lock on the gift's order row and the conditional UPDATE of the gift row)."""

import pytest

from campaigns.models import Gift, GiftState
from campaigns.types.give import kind as giving
from campaigns.types.give.kind import GiftRefused
from orders.models import FulfilmentItem, Refund
from tests.builders.orders import DjangoClientTransport
from tests.campaigns.give_support import ADDRESS, friend, give_campaign, giver_in, paid_gift, past
from tests.factories import ShopFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 8


@pytest.fixture
def gift(client):
    shop = ShopFactory()
    giver, _group = giver_in(shop)
    return paid_gift(give_campaign(shop), giver, DjangoClientTransport(client))


def _claims(gift, friends):
    return race(len(friends), lambda i: giving.claim_gift(gift=gift, member=friends[i], delivery=ADDRESS))


def test_a_gift_tapped_by_many_friends_at_once_is_claimed_once(gift):
    friends = [friend() for _ in range(RACERS)]

    results = _claims(gift, friends)

    won = [r for r in results if isinstance(r, Gift)]
    refused = [r for r in results if isinstance(r, GiftRefused)]
    assert len(won) == 1 and len(refused) == RACERS - 1, results
    assert all(r.reason == "claimed" for r in refused)
    gift.refresh_from_db()
    assert gift.state == GiftState.CLAIMED and gift.recipient == won[0].recipient
    items = list(FulfilmentItem.objects.filter(key=f"gift:{gift.pk}"))
    assert len(items) == 1 and items[0].member == gift.recipient


def test_control_without_the_conditional_update_several_friends_win(gift, monkeypatch):
    friends = [friend() for _ in range(RACERS)]
    gate = Gate(RACERS)

    def naive_take(gift, member, *, now):
        seen = Gift.objects.get(pk=gift.pk)
        gate.wait()  # everyone reads before anyone writes
        if seen.state != GiftState.OPEN:
            return False
        Gift.objects.filter(pk=gift.pk).update(state=GiftState.CLAIMED, recipient=member, claimed_at=now)
        return True

    monkeypatch.setattr(giving, "_lock_order", lambda order_id: None)
    monkeypatch.setattr(giving, "_take", naive_take)
    results = _claims(gift, friends)

    # Every friend was told the gift is theirs; the last write decided whose it really is.
    assert sum(isinstance(r, Gift) for r in results) > 1, results


def _expire_twice(gift):
    return race(2, lambda _i: giving.expire_gift(gift.pk, now=gift.expires_at))


def test_the_expiry_job_run_twice_at_once_refunds_once(gift):
    past(gift)
    gift.refresh_from_db()

    results = _expire_twice(gift)

    assert sorted(results) == [0, 1], results
    gift.refresh_from_db()
    assert gift.state == GiftState.REFUNDED
    assert Refund.objects.filter(order_id=gift.order_id).count() == 1


def test_control_without_the_conditional_update_both_runs_expire_it(gift, monkeypatch):
    past(gift)
    gift.refresh_from_db()
    gate = Gate(2)
    refunds = []
    real_refund = giving._refund_gift_order

    def naive_close(gift_id, *, to_state, now):
        seen = Gift.objects.get(pk=gift_id)
        gate.wait()  # both runs read before either writes
        if seen.state != GiftState.OPEN or seen.expires_at > now:
            return False
        Gift.objects.filter(pk=gift_id).update(state=to_state, closed_at=now)
        return True

    def counting_refund(order, *, reason):
        refunds.append(order.pk)
        real_refund(order, reason=reason)

    monkeypatch.setattr(giving, "_lock_order", lambda order_id: None)
    monkeypatch.setattr(giving, "_close", naive_close)
    monkeypatch.setattr(giving, "_refund_gift_order", counting_refund)
    results = _expire_twice(gift)

    # Both runs saw the gift open and both went on to refund it: the guards are what stop the second.
    assert results == [1, 1] and len(refunds) == 2, results
