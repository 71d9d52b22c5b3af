"""The demo's playbook: 新群7天培育 as the shop's default, its ¥1 group buy and check-in challenge copied from
the demo's own campaigns, and the two newest open groups one day into it, so that today's steps show what
the job did, what is overdue and what is still to come."""

from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.models import Campaign, CampaignType
from groups.models import Group, GroupState

from . import services
from .defaults import install_default_playbook

DAYS_IN = 1  # today is day 1: day 0 done or overdue, the ¥1 group buy comes tomorrow


def seed_playbooks(*, shop, staff, now: datetime) -> None:
    group_buy = Campaign.objects.filter(shop=shop, type=CampaignType.GROUP_BUY).order_by("pk").first()
    checkin = Campaign.objects.filter(shop=shop, type=CampaignType.CHECKIN).order_by("pk").first()
    playbook = install_default_playbook(shop=shop, by=staff, group_buy=group_buy, checkin=checkin)
    newest = Group.objects.filter(
        shop=shop, state__in=[GroupState.RECRUITING, GroupState.ACTIVE], playbook_run__isnull=True
    ).order_by("-created_at")[:2]
    day0 = timezone.localdate(now) - timedelta(days=DAYS_IN)
    for group in newest:
        services.assign_playbook(group=group, playbook=playbook, by=staff, day0=day0)
    services.run_due_steps(now=now)
