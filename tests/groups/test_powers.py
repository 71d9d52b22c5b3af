"""The powers of 群主 and 管理员 (groups.powers): each power × each kind of person × this group, another
group of the same shop and a group of another shop.

The expectations are written out here as the issue states them, not read from groups.powers.ROLE_POWERS,
so a change to that table that breaks the rule fails these tests.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from groups import services
from groups.models import MemberRole, Membership, MembershipStatus, Threshold
from groups.powers import (
    GroupPower,
    check_power,
    group_for_power,
    groups_with_power,
    has_power,
    powers_of,
    visible_groups,
)
from shops.models import OperatorRole
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, ShopFactory, UserFactory, shop_owner

EVERY_POWER = set(GroupPower)
PEOPLE = (
    "owner",
    "admin",
    "core",
    "active",
    "member",
    "non_member",
    "applicant",
    "operator",
    "shop_owner",
    "viewer",
    "other_shop_operator",
)
PLACES = ("own_group", "other_group", "other_shop_group")

# What each person may do in each place: the rule of issue 15, item 3.
EXPECTED = {
    ("owner", "own_group"): EVERY_POWER,
    ("admin", "own_group"): EVERY_POWER,
    ("operator", "own_group"): EVERY_POWER,
    ("operator", "other_group"): EVERY_POWER,
    ("shop_owner", "own_group"): EVERY_POWER,
    ("shop_owner", "other_group"): EVERY_POWER,
    # Shop B's operator acts in shop B's groups only.
    ("other_shop_operator", "other_shop_group"): EVERY_POWER,
}

# Where the group exists for the person (403 when a power is lacking) rather than not at all (404).
VISIBLE = {
    (person, "own_group")
    for person in ("owner", "admin", "core", "active", "member", "applicant", "operator", "shop_owner", "viewer")
} | {
    ("operator", "other_group"),
    ("shop_owner", "other_group"),
    ("viewer", "other_group"),
    ("other_shop_operator", "other_shop_group"),
}


def member_with_role(group, role):
    user = UserFactory()
    membership = services.add_member(group=group, user=user, by=shop_owner(group.shop))
    if role != MemberRole.MEMBER:
        services.set_role(membership=membership, by=shop_owner(group.shop), role=role)
    return user


@pytest.fixture
def world(db):
    shop, other_shop = ShopFactory(), ShopFactory()
    own_group, other_group = GroupFactory(shop=shop), GroupFactory(shop=shop)
    other_shop_group = GroupFactory(shop=other_shop)
    applicant = UserFactory()
    approval = GroupFactory(shop=shop, threshold=Threshold.APPROVAL)
    own_group.threshold = Threshold.APPROVAL
    own_group.save(update_fields=["threshold"])
    services.join_via_link(user=applicant, code=InviteLinkFactory(group=own_group).code, answer="想加入")
    people = {
        "owner": member_with_role(own_group, MemberRole.OWNER),
        "admin": member_with_role(own_group, MemberRole.ADMIN),
        "core": member_with_role(own_group, MemberRole.CORE),
        "active": member_with_role(own_group, MemberRole.ACTIVE),
        "member": member_with_role(own_group, MemberRole.MEMBER),
        "non_member": UserFactory(),
        "applicant": applicant,
        "operator": OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user,
        "shop_owner": OperatorFactory(shop=shop, role=OperatorRole.OWNER).user,
        "viewer": OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user,
        "other_shop_operator": OperatorFactory(shop=other_shop, role=OperatorRole.OPERATOR).user,
    }
    # Stewards elsewhere: the ordinary member is 管理员 of another group of the shop and 群主 of a group of
    # the other shop, which must give them nothing in the groups under test.
    services.add_member(group=approval, user=people["member"], by=shop_owner(shop), role=MemberRole.ADMIN)
    elsewhere = GroupFactory(shop=other_shop)
    services.add_member(group=elsewhere, user=people["member"], by=shop_owner(other_shop), role=MemberRole.OWNER)
    places = {"own_group": own_group, "other_group": other_group, "other_shop_group": other_shop_group}
    return people, places


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("person", PEOPLE)
def test_each_person_has_the_powers_the_rule_gives_in_each_place(world, person, place):
    people, places = world
    user, group = people[person], places[place]
    expected = EXPECTED.get((person, place), set())

    assert powers_of(user, group) == expected
    # The group page passes the membership it has read: the same answer from it as from the database.
    membership = Membership.objects.filter(group=group, user=user).first()
    if membership is not None:
        assert powers_of(user, group, membership=membership) == expected
    for power in GroupPower:
        assert has_power(user, group, power) is (power in expected), power
        assert has_power(user, group, power.value) is (power in expected), power  # by its stored code too
        in_list = groups_with_power(user, power).filter(pk=group.pk).exists()
        assert in_list is (power in expected), f"groups_with_power disagrees on {power}"


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("person", PEOPLE)
def test_a_lacking_power_is_403_where_the_group_exists_and_404_where_it_does_not(world, person, place):
    people, places = world
    user, group = people[person], places[place]
    assert visible_groups(user).filter(pk=group.pk).exists() is ((person, place) in VISIBLE)
    for power in GroupPower:
        if power in EXPECTED.get((person, place), set()):
            assert group_for_power(user, group.pk, power) == group
        elif (person, place) in VISIBLE:
            with pytest.raises(PermissionDenied):
                group_for_power(user, group.pk, power)
        else:
            with pytest.raises(Http404):
                group_for_power(user, group.pk, power)


def test_signed_out_people_have_no_powers_and_see_no_group(world):
    from django.contrib.auth.models import AnonymousUser

    _people, places = world
    for power in GroupPower:
        assert not has_power(AnonymousUser(), places["own_group"], power)
        assert not groups_with_power(AnonymousUser(), power).exists()
        with pytest.raises(Http404):
            group_for_power(AnonymousUser(), places["own_group"].pk, power)
    assert powers_of(None, places["own_group"]) == set()


def test_powers_go_with_the_role_and_the_membership(world):
    people, places = world
    group, admin = places["own_group"], people["admin"]
    membership = Membership.objects.get(group=group, user=admin)

    services.set_role(membership=membership, by=shop_owner(group.shop), role=MemberRole.CORE)
    assert powers_of(admin, group) == set()

    services.set_role(membership=membership, by=shop_owner(group.shop), role=MemberRole.ADMIN)
    assert powers_of(admin, group) == EVERY_POWER

    services.remove(membership=membership, by=shop_owner(group.shop))
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.REMOVED
    assert powers_of(admin, group) == set()
    with pytest.raises(Http404):
        group_for_power(admin, group.pk, GroupPower.SEE_FIGURES)


def test_a_viewer_who_is_also_the_groups_owner_keeps_the_owners_powers(world):
    people, places = world
    group = places["own_group"]
    OperatorFactory(shop=group.shop, user=people["owner"], role=OperatorRole.VIEWER)
    assert powers_of(people["owner"], group) == EVERY_POWER
    assert powers_of(people["owner"], places["other_group"]) == set()


def test_a_deactivated_account_has_no_powers(world):
    people, places = world
    people["operator"].is_active = False
    people["operator"].save(update_fields=["is_active"])
    assert powers_of(people["operator"], places["own_group"]) == set()
    assert not groups_with_power(people["operator"], GroupPower.SEE_FIGURES).exists()


def test_check_power_refuses_with_a_message(world):
    people, places = world
    with pytest.raises(PermissionDenied, match="没有此权限"):
        check_power(people["core"], places["own_group"], GroupPower.HIDE_POSTS)
    check_power(people["owner"], places["own_group"], GroupPower.HIDE_POSTS)  # no error


def test_an_unknown_power_is_a_programming_error(world):
    people, places = world
    with pytest.raises(ValueError):
        has_power(people["owner"], places["own_group"], "delete_group")


@pytest.mark.parametrize("person", PEOPLE)
def test_deciding_costs_one_query_whoever_asks(world, person, django_assert_num_queries):
    people, places = world
    with django_assert_num_queries(1):
        powers_of(people[person], places["own_group"])


def test_a_membership_of_someone_else_or_elsewhere_is_refused(world):
    people, places = world
    admins = Membership.objects.get(group=places["own_group"], user=people["admin"])
    with pytest.raises(ValueError):
        powers_of(people["member"], places["own_group"], membership=admins)
    with pytest.raises(ValueError):
        powers_of(people["admin"], places["other_group"], membership=admins)


@pytest.mark.parametrize("person", ["admin", "member", "applicant"])
def test_deciding_with_the_membership_read_costs_one_plain_query(world, person, django_assert_num_queries):
    people, places = world
    membership = Membership.objects.filter(group=places["own_group"], user=people[person]).first()
    with django_assert_num_queries(1) as ctx:
        powers_of(people[person], places["own_group"], membership=membership)
    assert "SELECT" not in ctx.captured_queries[0]["sql"].split("FROM", 1)[1]  # no subquery


@pytest.mark.parametrize("person", ["owner", "operator", "member"])
def test_listing_the_groups_with_a_power_is_one_query(world, person, django_assert_num_queries):
    people, places = world
    for _n in range(3):
        GroupFactory(shop=places["own_group"].shop)
    with django_assert_num_queries(1):
        list(groups_with_power(people[person], GroupPower.WARN_MEMBERS))


@pytest.mark.parametrize("status", [MembershipStatus.PENDING, MembershipStatus.LEFT, MembershipStatus.BANNED])
def test_only_an_active_membership_carries_its_roles_powers(world, status):
    """Ending a membership resets its role, but a row that kept it (older data, a direct edit) still counts
    for nothing unless the person is in the group."""
    people, places = world
    Membership.objects.filter(group=places["own_group"], user=people["admin"]).update(status=status)
    assert powers_of(people["admin"], places["own_group"]) == set()
    assert not groups_with_power(people["admin"], GroupPower.WARN_MEMBERS).filter(pk=places["own_group"].pk).exists()
