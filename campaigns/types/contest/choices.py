"""The words of a contest's settings (its metric, scope and who gets a group's prize), shared by the rules
(kind.py) and the settings form (forms.py)."""

from django.utils.translation import gettext_lazy

from referrals.models import EventKind


class Metric:
    QUALIFIED = "qualified"
    SALES = "sales"
    ORDERS = "orders"
    CHECKINS = "checkins"
    GROUP_ACTIVITY = "group_activity"
    GROUP_SALES = "group_sales"
    CHOICES = [
        (QUALIFIED, gettext_lazy("合格邀请人数")),
        (SALES, gettext_lazy("带来成交额")),
        (ORDERS, gettext_lazy("带来付款订单数")),
        (CHECKINS, gettext_lazy("打卡天数")),
        (GROUP_ACTIVITY, gettext_lazy("群活跃度（群与群比拼）")),
        (GROUP_SALES, gettext_lazy("群成交额（群与群比拼）")),
    ]
    GROUPS = (GROUP_ACTIVITY, GROUP_SALES)
    MONEY = (SALES, GROUP_SALES)
    KINDS = {
        QUALIFIED: (EventKind.QUALIFIED,),
        SALES: (EventKind.FIRST_ORDER, EventKind.REPEAT_ORDER),
        ORDERS: (EventKind.FIRST_ORDER, EventKind.REPEAT_ORDER),
        CHECKINS: (EventKind.CHECK_IN,),
    }


class Scope:
    SHOP = "shop"
    GROUPS = "groups"
    TAGS = "tags"
    CHOICES = [
        (SHOP, gettext_lazy("全店")),
        (GROUPS, gettext_lazy("活动所选的群")),
        (TAGS, gettext_lazy("带指定标签的成员")),
    ]


class PrizeTo:
    OWNER = "owner"
    MEMBERS = "members"
    CHOICES = [(OWNER, gettext_lazy("获胜群的群主")), (MEMBERS, gettext_lazy("获胜群的每位成员"))]
