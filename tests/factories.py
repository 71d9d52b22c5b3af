"""factory_boy factories for the whole suite. Shops come with their settings row and an owner."""

import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from groups.models import Group, GroupSeries, GroupState, InviteLink, Tag, Threshold
from shops.models import Operator, OperatorRole, Shop, ShopSettings


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    phone_verified = True
    display_name = factory.Sequence(lambda n: f"成员{n}")
    email = ""


class OperatorUserFactory(UserFactory):
    phone = None
    email = factory.Sequence(lambda n: f"op{n}@shop.test")
    password = factory.django.Password("op-password-123")


class ShopFactory(DjangoModelFactory):
    class Meta:
        model = Shop
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"店铺{n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    settings = factory.RelatedFactory("tests.factories.ShopSettingsFactory", factory_related_name="shop")


class ShopSettingsFactory(DjangoModelFactory):
    class Meta:
        model = ShopSettings

    shop = factory.SubFactory(ShopFactory, settings=None)


class OperatorFactory(DjangoModelFactory):
    class Meta:
        model = Operator

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(OperatorUserFactory)
    role = OperatorRole.OPERATOR


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"标签{n}")


class GroupFactory(DjangoModelFactory):
    class Meta:
        model = Group

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"宝妈好物群{n}")
    capacity = 200
    state = GroupState.ACTIVE
    threshold = Threshold.OPEN


class GroupSeriesFactory(DjangoModelFactory):
    class Meta:
        model = GroupSeries

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"护肤交流{n}")
    capacity = 200
    rotation_threshold = 180
    threshold = Threshold.OPEN


class InviteLinkFactory(DjangoModelFactory):
    class Meta:
        model = InviteLink

    group = factory.SubFactory(GroupFactory)
    shop = factory.SelfAttribute("group.shop")
    inviter = factory.SubFactory(UserFactory)


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = "orders.Product"

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"有机米粉{n}")
    usage_cycle_days = 30


class SkuFactory(DjangoModelFactory):
    class Meta:
        model = "orders.Sku"

    product = factory.SubFactory(ProductFactory)
    spec = factory.Sequence(lambda n: f"{n}00g")
    price = factory.LazyFunction(lambda: __import__("decimal").Decimal("39.90"))
    stock = 100


class PickupPointFactory(DjangoModelFactory):
    class Meta:
        model = "orders.PickupPoint"

    shop = factory.SubFactory(ShopFactory)
    name = "望京店"
    address = "北京市朝阳区望京街 1 号"


def shop_owner(shop: Shop) -> User:
    """The shop's first owner, seated now if it has none: the `by` of operator writes in tests."""
    seat = Operator.objects.filter(shop=shop, role=OperatorRole.OWNER).select_related("user").order_by("pk").first()
    return seat.user if seat else OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
