import pytest
from django.core.exceptions import ValidationError

from shops.models import Operator, OperatorRole, ShopSettings
from shops.services import add_operator, change_operator_role, create_shop, remove_operator, update_shop_settings
from tests.factories import GroupFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db


def test_create_shop_makes_settings_and_owner():
    owner = UserFactory()
    shop = create_shop(name="好物社", slug="haowu", owner=owner)
    assert ShopSettings.objects.get(shop=shop).group_hard_cap == 350
    assert Operator.objects.get(shop=shop).role == OperatorRole.OWNER


def test_hard_cap_cannot_drop_below_an_existing_group(shop):
    GroupFactory(shop=shop, capacity=300)
    with pytest.raises(ValidationError) as info:
        update_shop_settings(
            shop=shop,
            by=shop_owner(shop),
            group_hard_cap=250,
            default_group_capacity=200,
            default_rotation_threshold=180,
        )
    assert "group_hard_cap" in info.value.message_dict
    shop.settings.refresh_from_db()
    assert shop.settings.group_hard_cap == 350


def test_defaults_within_hard_cap(shop):
    with pytest.raises(ValidationError) as info:
        update_shop_settings(
            shop=shop,
            by=shop_owner(shop),
            group_hard_cap=300,
            default_group_capacity=320,
            default_rotation_threshold=310,
        )
    assert set(info.value.message_dict) == {"default_group_capacity", "default_rotation_threshold"}


def test_a_shop_always_keeps_an_owner(shop, owner):
    seat = Operator.objects.get(shop=shop, user=owner)
    with pytest.raises(ValidationError):
        change_operator_role(operator=seat, by=owner, role=OperatorRole.VIEWER)
    with pytest.raises(ValidationError):
        remove_operator(operator=seat, by=owner)
    second = add_operator(shop=shop, by=shop_owner(shop), email="Second@Shop.test", role=OperatorRole.OWNER)
    assert second.user.email == "second@shop.test"
    remove_operator(operator=seat, by=owner)
    assert not Operator.objects.filter(pk=seat.pk).exists()


def test_same_person_is_not_added_twice(shop):
    add_operator(shop=shop, by=shop_owner(shop), email="a@shop.test", role=OperatorRole.VIEWER)
    with pytest.raises(ValidationError):
        add_operator(shop=shop, by=shop_owner(shop), email="A@shop.test", role=OperatorRole.OPERATOR)
