"""Campaign messages to members (活动消息): each type decides when its own are due (a team one seat short,
a bargain near its floor…) and writes them here, inside the transaction of the act that made them due.

Guarantees: a message is written to the notifications outbox with the act (it exists if and only if the
act committed), once per key however often the act's code runs; it is of the campaign category, so the
outbox applies the member's opt-out, quiet hours (held until they end), the shop's frequency cap and the
after-sales hold when it is released.
"""

from notifications.models import Category
from notifications.services import notify


def tell(*, campaign, member, kind: str, key: str, title: str, body: str, url: str = "") -> bool:
    """Write one campaign message to `member` (a user or a user id); True if written now, False if this key
    was written before."""
    written = notify(
        shop=campaign.shop_id,
        user=member,
        category=Category.CAMPAIGN,
        kind=kind,
        key=f"campaign:{key}",
        title=title,
        body=body,
        url=url,
    )
    return written is not None
