"""What every outbox pump has left to do and how it is failing: for the jobs page and /healthz.

An outbox is a table of things to send to another process (a payment callback, an SMS, a refund to a
provider), written with the event and sent later by a pump. Each app reports its own outboxes, by name
and label, as OutboxFigures, answering the outboxes hook (shequn.hooks), so this module imports no app:

- pending: waiting to go out (due now or later), not given up;
- due: due now and not in a live pump's hands — the backlog; `oldest_due_at` is when its oldest row
  became due, so a pump that stopped shows as a growing age (rows held back on purpose, such as
  messages waiting for the end of quiet hours, are not due yet and do not count);
- retrying: failed at least once and will be tried again; failed_24h: given up in the last 24 hours;
- last_error: the most recent error of a row not delivered.

An operator sees the figures of their own shop's rows; platform staff see every shop's (shop_id None).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import hooks

FAILURE_WINDOW = timedelta(hours=24)


@dataclass
class OutboxFigures:
    pending: int = 0
    due: int = 0
    oldest_due_at: datetime | None = None
    retrying: int = 0
    failed_24h: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None

    @property
    def failures(self) -> int:
        return self.retrying + self.failed_24h

    def oldest_due_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.oldest_due_at).total_seconds())) if self.oldest_due_at else 0


@dataclass
class Outbox:
    name: str
    label: str
    figures: OutboxFigures
    now: datetime

    @property
    def oldest_due_seconds(self) -> int:
        return self.figures.oldest_due_seconds(self.now)

    @property
    def backlog_too_old(self) -> bool:
        return self.oldest_due_seconds > settings.OUTBOX_BACKLOG_MAX_AGE.total_seconds()

    @property
    def problems(self) -> list[str]:
        """Why this outbox makes /healthz degraded, in plain words with no error text (it is public)."""
        found = []
        if self.figures.retrying:
            found.append(f"{self.name}: {self.figures.retrying} failing, being retried")
        if self.figures.failed_24h:
            found.append(f"{self.name}: {self.figures.failed_24h} given up in the last 24 h")
        if self.backlog_too_old:
            found.append(
                f"{self.name}: {self.figures.due} waiting, the oldest for {self.oldest_due_seconds} s "
                f"(threshold {int(settings.OUTBOX_BACKLOG_MAX_AGE.total_seconds())} s)"
            )
        return found


def outboxes(*, shop_id: int | None, now: datetime | None = None) -> list[Outbox]:
    """Every outbox's figures, for one shop (or every shop with None): a constant number of queries."""
    now = now or timezone.now()
    return [
        Outbox(name=name, label=label, figures=figures, now=now)
        for answer in hooks.outboxes.answers(shop_id=shop_id, now=now)
        for name, label, figures in answer
    ]
