"""Why a friend-assisted act cannot happen (start a task, act on a friend's, claim or buy what it earned):
a reason code the pages and the API show in words. Each type lists its own words per reason."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy


class ActRefused(ValidationError):
    """Raised with a reason code (`reason`, also the error's `code`) and its message in words, formatted
    with the params (`%(n)d`…). A type subclasses it and adds its reasons to MESSAGES."""

    MESSAGES = {
        "not_running": gettext_lazy("活动未在进行中。"),
    }

    def __init__(self, reason: str, **params):
        self.reason = reason
        words = str(self.MESSAGES[reason])
        super().__init__(words % params if params else words, code=reason)

    @property
    def message_text(self) -> str:
        return self.messages[0]
