"""The default playbook every shop can start from: 新群7天培育, the field's first week of a new group.

In the first two days a group must give value (a micro-lecture, 微课) and a small stake (a ¥1 group buy) or
people leave; the first week ends with a check-in challenge that makes using the product a habit.
"""

from datetime import time

from django.db import transaction
from django.utils.translation import gettext as _

from . import services
from .models import Playbook, StepAction

DEFAULT_NAME = "新群7天培育"


def default_steps(*, group_buy=None, checkin=None) -> list[dict]:
    """The steps; a ¥1 group buy and a check-in challenge are started from the templates when given, else
    they are tasks for the operator."""
    steps = [
        dict(
            day=0,
            at_time=time(9, 0),
            action=StepAction.MESSAGE,
            title=_("欢迎加入{群名}"),
            body=_("欢迎加入！进群先看群规：\n{群规}\n有问题随时在群空间提问，5 分钟内有人回复。"),
        ),
        dict(day=0, at_time=time(9, 5), action=StepAction.ANNOUNCEMENT, title=_("群规"), body="{群规}"),
        dict(
            day=0,
            at_time=time(20, 0),
            action=StepAction.TASK,
            title=_("群主自我介绍，邀请大家报到"),
            body=_("请群主发一段自我介绍，并请新成员回复“报到+所在城市”。"),
        ),
        dict(
            day=1,
            at_time=time(10, 0),
            action=StepAction.ANNOUNCEMENT,
            title=_("今晚 8 点微课"),
            body=_("今晚 8 点，群里有一节 15 分钟的微课，讲产品怎么用最有效，记得来听。"),
        ),
        dict(day=1, at_time=time(20, 0), action=StepAction.TASK, title=_("上微课并回答提问"), body=""),
    ]
    if group_buy is not None:
        steps.append(
            dict(
                day=2,
                at_time=time(10, 0),
                action=StepAction.CAMPAIGN,
                title=_("¥1 拼团"),
                body=_("新群福利：1 元拼团，三人成团。"),
                campaign_template=group_buy,
                campaign_days=2,
            )
        )
    else:
        steps.append(dict(day=2, at_time=time(10, 0), action=StepAction.TASK, title=_("发起 ¥1 拼团"), body=""))
    steps.append(
        dict(
            day=3,
            at_time=time(20, 0),
            action=StepAction.TASK,
            title=_("收集晒单和好评"),
            body=_("请拼团成功的成员晒单，选两条好评置顶。"),
        )
    )
    if checkin is not None:
        steps.append(
            dict(
                day=7,
                at_time=time(9, 0),
                action=StepAction.CAMPAIGN,
                title=_("21 天打卡挑战"),
                body="",
                campaign_template=checkin,
                campaign_days=21,
            )
        )
    steps.append(
        dict(
            day=7,
            at_time=time(9, 30),
            action=StepAction.MESSAGE,
            title=_("打卡挑战开始了"),
            body=_("{群名}的打卡挑战今天开始：每天晒一次使用，连续 7 天有积分奖励。"),
        )
    )
    return steps


@transaction.atomic
def install_default_playbook(*, shop, by, group_buy=None, checkin=None, is_default: bool = True) -> Playbook:
    """The 新群7天培育 playbook for `shop` (as the shop's default unless told otherwise), audited."""
    playbook = services.save_playbook(
        shop=shop,
        by=by,
        name=DEFAULT_NAME,
        description=_("新群第一周：欢迎与群规、微课、¥1 拼团、晒单、打卡挑战。"),
        match_tag=None,
        match_kind="",
        is_default=is_default,
        is_active=True,
    )
    for step in default_steps(group_buy=group_buy, checkin=checkin):
        services.save_step(playbook=playbook, by=by, **{"campaign_template": None, "campaign_days": 2, **step})
    return playbook
