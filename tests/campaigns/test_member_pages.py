"""Members' campaign pages: the landing page in three parts, opening and joining a team from the pages,
the team page, the share link carrying the inviter, the share QR and poster; denials."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import CampaignAct, CampaignVisit, SeatState, Team, TeamState
from groups.models import Membership
from groups.services import join_via_link
from orders.payments.simulated import deliver_due
from referrals.models import EventKind, ReferralEvent
from tests.builders.campaigns import make_campaign, open_team
from tests.builders.orders import SHIPPING_FORM, make_buyer, pay
from tests.factories import GroupFactory, InviteLinkFactory, UserFactory

pytestmark = pytest.mark.django_db


def _landing(campaign):
    return reverse("campaigns:landing", args=[campaign.pk])


def test_the_landing_page_has_the_hook_the_proof_and_the_call_again(client, campaign):
    response = client.get(_landing(campaign))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("三人成团，立省一半") < html.index("有机认证证书") < html.rindex("立即开团")
    assert html.count("立即开团") == 2  # the call to act at the top and again at the bottom
    assert "¥29.90" in html and "¥59.90" in html


def test_opening_a_team_signed_out_signs_in_then_shows_the_checkout(client, campaign, people):
    open_url = reverse("campaigns:open_team", args=[campaign.pk])
    assert f'href="{open_url}"' in client.get(_landing(campaign)).content.decode()

    response = client.get(open_url)

    assert response.status_code == 302 and reverse("account_request_login_code") in response.url
    assert f"登录后继续：<strong>在「{campaign.name}」开团</strong>" in client.get(response.url).content.decode()
    client.force_login(people[0])
    checkout = client.get(open_url)
    assert checkout.status_code == 200 and checkout.context["campaign"] == campaign


def test_a_draft_campaign_has_no_public_page(client, shop, gb_sku):
    draft = make_campaign(shop, gb_sku, run=False)
    assert client.get(_landing(draft)).status_code == 404


def test_a_member_opens_a_team_from_the_page_and_sees_it(client, campaign, people, transport):
    leader = people[0]
    client.force_login(leader)
    page = client.get(reverse("campaigns:open_team", args=[campaign.pk]))
    assert page.status_code == 200
    key = page.context["idempotency_key"]

    group_id = people[0].memberships.get().group_id
    response = client.post(
        reverse("campaigns:open_team", args=[campaign.pk]), {**SHIPPING_FORM, "idempotency_key": key, "group": group_id}
    )
    team = Team.objects.get()
    assert response.status_code == 302 and response.url == team.get_absolute_url()
    again = client.post(reverse("campaigns:open_team", args=[campaign.pk]), {**SHIPPING_FORM, "idempotency_key": key})
    assert again.status_code == 302 and Team.objects.count() == 1  # a double submit is one team

    team_page = client.get(team.get_absolute_url())
    assert "去付款" in team_page.content.decode() and 'data-testid="awaiting-result"' not in team_page.content.decode()
    order = team.seats.get().order
    cashier = client.post(reverse("orders:pay", args=[order.pk])).url
    back = client.post(cashier, {"outcome": "success"})
    assert client.get(back.url).url == team.get_absolute_url()  # the leader lands where they invite friends
    assert 'data-testid="awaiting-result"' in client.get(team.get_absolute_url()).content.decode()
    assert deliver_due(post=transport) == 1
    team_page = client.get(team.get_absolute_url())
    html = team_page.content.decode()
    assert "还差 <strong>2</strong> 人成团" in html and "邀请好友参团" in html
    assert services.share_link(campaign, leader, team).split("?")[1] in html


def test_checkout_shows_the_form_errors(client, campaign, people):
    client.force_login(people[0])
    response = client.post(reverse("campaigns:open_team", args=[campaign.pk]), {"delivery": "shipping"})
    assert response.status_code == 400
    assert "请填写联系人姓名。" in response.content.decode()
    assert not Team.objects.exists()


def test_a_friend_joins_from_the_share_link_and_is_credited_to_the_sharer(
    client, campaign, people, gb_group, transport
):
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    team = Team.objects.get()
    share = services.share_link(campaign, people[0], team).removeprefix("http://testserver")
    friend = people[1]
    client.force_login(friend)

    assert "邀请你一起拼" in client.get(share).content.decode()
    join_url = reverse("campaigns:join_team", args=[campaign.pk, team.pk])
    key = client.get(join_url).context["idempotency_key"]
    client.post(join_url, {**SHIPPING_FORM, "idempotency_key": key, "group": gb_group.pk})
    joined = team.seats.get(member=friend)
    assert joined.inviter == people[0]
    pay(joined.order, transport)
    assert ReferralEvent.objects.filter(kind=EventKind.CAMPAIGN_ACT, inviter=people[0], invitee=friend).exists()
    assert CampaignAct.objects.filter(kind="team_join", actor=friend, inviter=people[0]).exists()


def test_a_forged_share_token_credits_nobody(client, campaign, people, gb_group, transport):
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    team = Team.objects.get()
    client.force_login(people[1])
    client.get(team.get_absolute_url() + f"?by={campaign.pk}.{people[3].pk}:forged")
    join_url = reverse("campaigns:join_team", args=[campaign.pk, team.pk])
    key = client.get(join_url).context["idempotency_key"]
    client.post(join_url, {**SHIPPING_FORM, "idempotency_key": key, "group": gb_group.pk})
    assert team.seats.get(member=people[1]).inviter == people[0]  # the leader, by default; not the forger


def test_someone_outside_the_groups_is_sent_to_join_first(client, campaign, people, gb_group, transport):
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    team = Team.objects.get()
    stranger = UserFactory()
    client.force_login(stranger)
    html = client.get(services.share_path(campaign, people[0], team)).content.decode()
    assert "先加入活动群" in html and gb_group.name in html
    response = client.get(reverse("campaigns:join_team", args=[campaign.pk, team.pk]))
    assert response.status_code == 302 and not team.seats.filter(member=stranger).exists()


def test_a_full_team_offers_no_join(client, shop, gb_sku, gb_group, transport):
    campaign = make_campaign(shop, gb_sku, settings={"team_size": 2, "group_price": "29.90", "time_limit_minutes": 60})
    members = [make_buyer(gb_group) for _ in range(3)]
    seat = open_team(campaign, members[0], gb_group)
    pay(seat.order, transport)
    from tests.builders.campaigns import join

    pay(join(Team.objects.get(), members[1], gb_group).order, transport)
    client.force_login(members[2])
    team = Team.objects.get()
    assert team.state == TeamState.SUCCEEDED
    html = client.get(team.get_absolute_url()).content.decode()
    assert "拼团成功" in html and "立即参团" not in html
    response = client.get(reverse("campaigns:join_team", args=[campaign.pk, team.pk]))
    assert response.status_code == 302 and not team.seats.filter(member=members[2]).exists()


def test_a_team_of_another_campaign_is_a_404(client, campaign, shop, gb_sku, people, gb_group):
    seat = open_team(campaign, people[0], gb_group)
    other = make_campaign(shop, gb_sku)
    client.force_login(people[1])
    assert client.get(reverse("campaigns:team", args=[other.pk, seat.team_id])).status_code == 404


def test_the_share_qr_and_poster_are_the_members_own(client, campaign, people, gb_group, transport):
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    qr_url = reverse("campaigns:share_qr", args=[campaign.pk])
    poster_url = reverse("campaigns:share_poster", args=[campaign.pk])
    client.force_login(people[0])
    assert client.get(qr_url).headers["Content-Type"] == "image/png"
    assert client.get(f"{qr_url}?team={seat.team_id}").status_code == 200
    assert client.get(f"{poster_url}?team={seat.team_id}").content[:4] == b"\x89PNG"

    client.force_login(people[1])  # not in that team
    assert client.get(f"{qr_url}?team={seat.team_id}").status_code == 404
    assert client.get(f"{qr_url}?team=abc").status_code == 404
    client.force_login(UserFactory())  # in none of the shop's groups
    assert client.get(qr_url).status_code == 404


def test_pages_that_act_need_a_sign_in(client, campaign):
    response = client.get(reverse("campaigns:open_team", args=[campaign.pk]))
    assert response.status_code == 302 and "login" in response.url
    assert client.get(reverse("campaigns:share_qr", args=[campaign.pk])).status_code == 302


def test_my_teams_lists_only_mine(client, campaign, people, gb_group):
    open_team(campaign, people[0], gb_group)
    client.force_login(people[1])
    response = client.get(reverse("campaigns:my_teams"))
    assert response.status_code == 200 and response.context["seats"] == []
    client.force_login(people[0])
    assert len(client.get(reverse("campaigns:my_teams")).context["seats"]) == 1


def _queries(client, url) -> int:
    client.get(url)  # warm: the inbox badge is cached after a first visit
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_landing_and_team_pages_query_counts_do_not_grow(client, campaign, people, gb_group, transport):
    client.force_login(people[4])
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    landing_one, team_one = _queries(client, _landing(campaign)), _queries(client, seat.team.get_absolute_url())
    for person in people[1:4]:
        pay(open_team(campaign, person, gb_group).order, transport)
    from tests.builders.campaigns import join

    pay(join(seat.team, make_buyer(gb_group), gb_group).order, transport)
    assert _queries(client, _landing(campaign)) == landing_one
    assert _queries(client, seat.team.get_absolute_url()) == team_one


def test_prices_show_in_yuan(campaign):
    assert Decimal(campaign.settings["group_price"]) == Decimal("29.90")


def test_a_new_visitor_from_the_share_link_can_open_the_page_without_signing_in(
    client, campaign, people, gb_group, transport
):
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    response = client.get(services.share_path(campaign, people[0], seat.team))
    assert response.status_code == 200 and "登录并参团" in response.content.decode()
    assert SeatState.PENDING not in set(Team.objects.get().seats.values_list("state", flat=True))


def test_other_shops_groups_do_not_count(client, campaign, other_shop):
    outsider = make_buyer(GroupFactory(shop=other_shop))
    client.force_login(outsider)
    assert "先加入活动群" in client.get(_landing(campaign)).content.decode()


def session_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if '"django_session"' in q["sql"] and not q["sql"].startswith("SELECT")]


def test_a_share_link_opened_again_does_not_rewrite_the_session(client, campaign, people, gb_group, transport):
    """The inviter is stored once; the same ?by= again changes nothing, so the session is not saved again
    (each save is a transaction of its own); another sharer's link is stored."""
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    team = Team.objects.get()
    share = services.share_link(campaign, people[0], team).removeprefix("http://testserver")
    client.force_login(people[1])
    client.get(share)
    with CaptureQueriesContext(connection) as again:
        assert client.get(share).status_code == 200
    assert session_writes(again) == []
    other = services.share_link(campaign, people[2], team).removeprefix("http://testserver")
    with CaptureQueriesContext(connection) as changed:
        client.get(other)
    assert session_writes(changed)
    assert client.session["campaign_inviters"] == {str(campaign.pk): people[2].pk}


def test_a_share_link_records_the_open_the_sign_in_after_and_the_join_it_brings(client, campaign, people, gb_group):
    """The campaign's funnel: its share page opened signed out (once per session), the opener back signed
    in, and their first join into a group the campaign runs in carries the campaign (campaigns.visits)."""

    share = services.share_path(campaign, people[0])
    assert client.get(share).status_code == 200
    client.get(share)  # again in the same session: one open
    opened = CampaignVisit.objects.get()
    assert (opened.campaign, opened.kind, opened.signed_in, opened.user) == (campaign, "opened", False, None)
    newcomer = UserFactory()
    client.force_login(newcomer)
    client.get(share)
    client.get(share)
    signed = CampaignVisit.objects.exclude(pk=opened.pk).get()
    assert (signed.kind, signed.signed_in, signed.user) == ("signed_in", True, newcomer)

    joined = join_via_link(user=newcomer, code=InviteLinkFactory(group=gb_group, inviter=people[0]).code)
    assert Membership.objects.get(pk=joined.pk).campaign_id == campaign.pk
    unrelated = join_via_link(user=UserFactory(), code=InviteLinkFactory(group=gb_group, inviter=people[0]).code)
    assert Membership.objects.get(pk=unrelated.pk).campaign_id is None


def test_a_member_opening_their_own_share_link_is_not_a_visit(client, campaign, people):
    client.force_login(people[0])
    client.get(services.share_path(campaign, people[0]))
    client.get(_landing(campaign))  # no ?by=: not a share link
    assert not CampaignVisit.objects.exists()
