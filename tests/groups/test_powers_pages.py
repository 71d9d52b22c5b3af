"""The 群主/管理员 member pages (groups/steward_views.py): every page and action × every kind of person ×
this group, another group of the same shop and a group of another shop.

A person the group does not exist for gets 404; one who sees it without the power 403 (groups.powers).
Each request runs in a savepoint rolled back afterwards, so one person's write never changes what the next
one meets; an allowed write is checked for its effect before the rollback.
"""

from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from groups import services
from groups.models import MemberRole, MembershipStatus, MemberWarning, Threshold
from shops.models import OperatorRole
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, ShopFactory, UserFactory, shop_owner

PEOPLE = ("owner", "admin", "core", "active", "member", "non_member", "operator", "viewer", "other_shop_operator")
PLACES = ("own_group", "other_group", "other_shop_group")
STEWARDS = {("owner", "own_group"), ("admin", "own_group")}
OPERATORS = {
    ("operator", "own_group"),
    ("operator", "other_group"),
    ("other_shop_operator", "other_shop_group"),
}
ALLOWED = STEWARDS | OPERATORS
# Where the group exists for the person without them having powers there: 403 rather than 404.
SEEN = {(p, "own_group") for p in ("core", "active", "member", "viewer")} | {("viewer", "other_group")}


def _with_role(group, role):
    user = UserFactory()
    services.add_member(group=group, user=user, by=shop_owner(group.shop), role=role)
    return user


def _place(group):
    """A group ready for every action: an applicant, a plain member and one with three standing warnings."""
    applicant = UserFactory()
    services.join_via_link(user=applicant, code=InviteLinkFactory(group=group).code, answer="我想加入")
    target = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop))
    warned = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop))
    for n in range(3):  # as if the shop lowered its count after these were given
        MemberWarning.objects.create(group=group, membership=warned, member=warned.user, rule=f"第{n}条")
    return {
        "group": group,
        "application": group.memberships.get(user=applicant),
        "target": target,
        "warned": warned,
    }


@pytest.fixture
def world(db):
    shop, other_shop = ShopFactory(), ShopFactory()
    groups = {
        "own_group": GroupFactory(shop=shop, threshold=Threshold.APPROVAL, rules="不发广告\n不发链接"),
        "other_group": GroupFactory(shop=shop, threshold=Threshold.APPROVAL),
        "other_shop_group": GroupFactory(shop=other_shop, threshold=Threshold.APPROVAL),
    }
    own = groups["own_group"]
    people = {
        "owner": _with_role(own, MemberRole.OWNER),
        "admin": _with_role(own, MemberRole.ADMIN),
        "core": _with_role(own, MemberRole.CORE),
        "active": _with_role(own, MemberRole.ACTIVE),
        "member": _with_role(own, MemberRole.MEMBER),
        "non_member": UserFactory(),
        "operator": OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user,
        "viewer": OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user,
        "other_shop_operator": OperatorFactory(shop=other_shop, role=OperatorRole.OPERATOR).user,
    }
    # The ordinary member is 群主 elsewhere: it gives nothing here.
    services.add_member(
        group=GroupFactory(shop=shop), user=people["member"], by=shop_owner(shop), role=MemberRole.OWNER
    )
    return people, {name: _place(group) for name, group in groups.items()}


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    url: object  # place -> URL
    data: dict
    done: object = None  # place -> whether the write happened (checked before the rollback)


def _status(m):
    return type(m).objects.get(pk=m.pk).status


ACTIONS = [
    Action("applicants", "get", lambda p: reverse("member:steward_applicants", args=[p["group"].pk]), {}),
    Action(
        "approve",
        "post",
        lambda p: reverse("member:steward_decide_applicant", args=[p["group"].pk, p["application"].pk, "approve"]),
        {},
        lambda p: _status(p["application"]) == MembershipStatus.ACTIVE,
    ),
    Action(
        "reject",
        "post",
        lambda p: reverse("member:steward_decide_applicant", args=[p["group"].pk, p["application"].pk, "reject"]),
        {"reason": "回答不完整"},
        lambda p: _status(p["application"]) == MembershipStatus.REJECTED,
    ),
    Action("members", "get", lambda p: reverse("member:steward_members", args=[p["group"].pk]), {}),
    Action("warn_form", "get", lambda p: reverse("member:steward_warn", args=[p["group"].pk, p["target"].pk]), {}),
    Action(
        "warn",
        "post",
        lambda p: reverse("member:steward_warn", args=[p["group"].pk, p["target"].pk]),
        {"other": "发广告"},
        lambda p: MemberWarning.objects.filter(membership=p["target"], rule="发广告").exists(),
    ),
    Action(
        "remove",
        "post",
        lambda p: reverse("member:steward_remove", args=[p["group"].pk, p["warned"].pk]),
        {"reason": "警告已满"},
        lambda p: _status(p["warned"]) == MembershipStatus.REMOVED,
    ),
    Action("figures", "get", lambda p: reverse("member:steward_figures", args=[p["group"].pk]), {}),
]


def _client(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("person", PEOPLE)
def test_each_power_page_answers_each_person_in_each_place(world, person, place):
    people, places = world
    client, where = _client(people[person]), places[place]
    wrong = []
    for action in ACTIONS:
        with transaction.atomic():
            response = getattr(client, action.method)(action.url(where), action.data)
            done = action.done(where) if action.done else None
            transaction.set_rollback(True)
        if (person, place) in ALLOWED:
            expected = 200 if action.method == "get" else 302
            if response.status_code != expected or done is False:
                wrong.append(f"{action.name}: {response.status_code}, done={done}")
        else:
            expected = 403 if (person, place) in SEEN else 404
            if response.status_code != expected or done:
                wrong.append(f"{action.name}: {response.status_code} (expected {expected}), done={done}")
    assert not wrong, wrong


def test_signed_out_people_are_sent_to_sign_in(world):
    _people, places = world
    for action in ACTIONS:
        response = getattr(Client(), action.method)(action.url(places["own_group"]), action.data)
        assert response.status_code == 302 and "/accounts/" in response["Location"], action.name


def test_a_membership_of_another_group_is_not_found_through_ones_own_group(world):
    people, places = world
    own, other = places["own_group"], places["other_group"]
    client = _client(people["owner"])
    url = reverse("member:steward_warn", args=[own["group"].pk, other["target"].pk])
    assert client.post(url, {"other": "发广告"}).status_code == 404
    url = reverse("member:steward_decide_applicant", args=[own["group"].pk, other["application"].pk, "approve"])
    assert client.post(url).status_code == 404
    assert _status(other["application"]) == MembershipStatus.PENDING
    assert not MemberWarning.objects.filter(membership=other["target"]).exists()


def test_an_unknown_decision_is_not_found(world):
    people, places = world
    own = places["own_group"]
    url = reverse("member:steward_decide_applicant", args=[own["group"].pk, own["application"].pk, "ban"])
    assert _client(people["owner"]).post(url).status_code == 404


def test_the_group_page_links_the_stewards_pages_to_stewards_only(world):
    people, places = world
    group = places["own_group"]["group"]
    manage = reverse("member:steward_members", args=[group.pk])
    assert manage in _client(people["admin"]).get(reverse("member:group", args=[group.pk])).content.decode()
    assert manage not in _client(people["core"]).get(reverse("member:group", args=[group.pk])).content.decode()
