"""Celery tasks for groups: thin wrappers over groups.jobs, each run under its job's lease (shequn.jobs).

They ack late (a worker killed mid-run is redelivered) and are idempotent: every move is checked against
the group's state under a lock and every result row is unique, so a second run changes nothing twice.
"""

from celery import shared_task

from shequn.jobs import run_job

from . import jobs, space


def _items(result) -> int | None:
    return result.items if result is not None else None


@shared_task(acks_late=True, ignore_result=True)
def run_group_lifecycle() -> int | None:
    return _items(run_job("group-lifecycle", lambda r: jobs.run_lifecycle(result=r)))


@shared_task(acks_late=True, ignore_result=True)
def expire_invite_links() -> int | None:
    return _items(run_job("invite-link-expiry", lambda r: jobs.expire_links(result=r)))


@shared_task(acks_late=True, ignore_result=True)
def open_next_series_groups() -> int | None:
    return _items(run_job("series-open-next", lambda r: jobs.open_next_series_groups(result=r)))


@shared_task(acks_late=True, ignore_result=True)
def follow_up_lurkers() -> int | None:
    return _items(run_job("lurker-follow-ups", lambda r: jobs.follow_up_lurkers(result=r)))


@shared_task(acks_late=True, ignore_result=True)
def take_group_health_snapshots() -> int | None:
    return _items(run_job("group-health-snapshots", lambda r: jobs.take_health_snapshots(result=r)))


@shared_task(acks_late=True, ignore_result=True)
def remind_expiring_wechat_qr() -> int | None:
    return _items(run_job("wechat-qr-expiry", lambda r: space.remind_expiring_wechat_qr(result=r)))
