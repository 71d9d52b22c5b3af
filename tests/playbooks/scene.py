"""A shop with a playbook of every kind of step, and a new group created through the groups service (so the
group_created hook gives it its run), with members."""

from datetime import time

from groups import services as group_services
from playbooks import services
from playbooks.models import Playbook, StepAction
from tests.builders.campaigns import make_campaign
from tests.factories import SkuFactory, UserFactory, shop_owner

STEPS = [
    dict(day=0, at_time=time(9, 0), action=StepAction.MESSAGE, title="欢迎加入{群名}", body="群规：{群规}"),
    dict(day=0, at_time=time(9, 5), action=StepAction.ANNOUNCEMENT, title="群规", body="{群规}"),
    dict(day=1, at_time=time(10, 0), action=StepAction.ANNOUNCEMENT, title="今晚微课", body="今晚 8 点微课"),
    dict(day=1, at_time=time(20, 0), action=StepAction.TASK, title="上微课", body=""),
    dict(day=2, at_time=time(10, 0), action=StepAction.CAMPAIGN, title="¥1 拼团", body=""),
    dict(day=7, at_time=time(9, 30), action=StepAction.MESSAGE, title="打卡挑战开始", body="来打卡"),
]
AUTOMATIC = [s for s in STEPS if s["action"] != StepAction.TASK]


def make_playbook(shop, *, by=None, name="新群7天", **values) -> Playbook:
    by = by or shop_owner(shop)
    template = make_campaign(shop, SkuFactory(product__shop=shop, stock=100), owner=by, run=False, name="¥1 拼团模板")
    playbook = services.save_playbook(
        shop=shop,
        by=by,
        name=name,
        description="",
        match_tag=values.pop("match_tag", None),
        match_kind=values.pop("match_kind", ""),
        is_default=values.pop("is_default", True),
        is_active=True,
    )
    for step in STEPS:
        services.save_step(
            playbook=playbook,
            by=by,
            campaign_template=template if step["action"] == StepAction.CAMPAIGN else None,
            campaign_days=2,
            **step,
        )
    return playbook


def new_group(shop, *, members: int = 3, **fields):
    owner = shop_owner(shop)
    group = group_services.create_group(
        shop=shop, name=fields.pop("name", "新手妈妈群"), by=owner, rules="不发广告；友善交流", **fields
    )
    for _ in range(members):
        group_services.add_member(group=group, user=UserFactory(), by=owner)
    return group
