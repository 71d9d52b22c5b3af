"""Things a moderator hides from members and shows again: space posts and replies here, and the campaign
types' check-ins and swap listings above. A hidden row is kept, with when and by whom it was hidden.

Guarantee: the pair is set and cleared together by one conditional UPDATE whose row count says whether this
call changed it, so a double tap or two moderators at once hide (or show) a row once, and the caller audits
only the change it made. Each caller keeps its own power check and its own audit entry (their actions and
labels differ)."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Hideable(models.Model):
    hidden_at = models.DateTimeField(_("隐藏时间"), null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("隐藏人"),
    )

    class Meta:
        abstract = True

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def set_hidden(self, hidden: bool, *, by=None, now: datetime | None = None) -> bool:
        """Hide this row (by `by`, at `now`) or show it again; True when this call changed it. The instance
        is left as the database has it either way."""
        now = now or timezone.now()
        changed = (
            type(self)
            ._default_manager.filter(pk=self.pk, hidden_at__isnull=hidden)
            .update(hidden_at=now if hidden else None, hidden_by=by if hidden else None)
        )
        if changed:
            self.hidden_at, self.hidden_by = (now, by) if hidden else (None, None)
        else:
            self.refresh_from_db(fields=["hidden_at", "hidden_by"])
        return bool(changed)
