"""The shop the browser walks start from: 小满母婴生活馆, its owner, its open and active group and the rice
cereal it sells, with members added through the service, so seats and memberships are real; and a shop's
settings changed as its owner changes them."""

from decimal import Decimal
from typing import NamedTuple

from accounts.models import User
from groups.models import Group, GroupState, Threshold
from groups.services import add_member
from shops.models import OperatorRole, Shop, ShopSettings
from shops.services import update_shop_settings
from tests.factories import GroupFactory, OperatorFactory, ProductFactory, ShopFactory, SkuFactory, UserFactory


class Shopfront(NamedTuple):
    shop: Shop
    owner: User
    group: Group


def open_shop(**owner) -> Shopfront:
    """小满母婴生活馆 with its owner (`owner` sets the owner's user fields, e.g. email=…) and its group
    小满宝妈辅食交流 3 群, active and open to join."""
    shop = ShopFactory(name="小满母婴生活馆")
    user = OperatorFactory(shop=shop, role=OperatorRole.OWNER, **{f"user__{k}": v for k, v in owner.items()}).user
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 3 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    return Shopfront(shop, user, group)


def add_person(front: Shopfront, **user) -> User:
    """A member of the shop's group (`user` sets their fields: phone, display_name), added by its owner."""
    person = UserFactory(**user)
    add_member(group=front.group, user=person, by=front.owner)
    return person


def rice_cereal(shop, *, price: str = "39.90", stock: int = 20, spec: str | None = "原味 250g"):
    """The shop's 有机胚芽米粉 SKU (spec=None: the factory's own spec)."""
    fields = {} if spec is None else {"spec": spec}
    return SkuFactory(
        product=ProductFactory(shop=shop, name="有机胚芽米粉"), price=Decimal(price), stock=stock, **fields
    )


def change_settings(shop, by, **changed) -> ShopSettings:
    """`by` changes only `changed` through the settings service (validated, audited); the caps it must send are
    sent as they are, as the settings page does."""
    current = shop.settings
    return update_shop_settings(
        shop=shop,
        by=by,
        group_hard_cap=current.group_hard_cap,
        default_group_capacity=current.default_group_capacity,
        default_rotation_threshold=current.default_rotation_threshold,
        **changed,
    )
