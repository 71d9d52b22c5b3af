"""Referrals' receivers of the hooks of the apps below it (connected in apps.py): orders are stamped with
the member's referrer and their payments and refunds become events; joins and link opens announced by
groups become bindings and events. Each runs inside the announcer's transaction."""

from groups.services import first_join_in_shop
from shequn.hooks import LinkOpened, LinkSignedIn, MemberJoined

from . import services
from .models import ReferralEdge


class OrderReferrals:
    @staticmethod
    def fill_referrer(order) -> None:
        """The order's referrer: whoever the member is bound to in the shop (a superseded edge too)."""
        edges = ReferralEdge.objects.filter(shop_id=order.shop_id, invitee=order.member)
        edge = edges.select_related("inviter").first()
        order.referrer = edge.inviter if edge else None

    @staticmethod
    def after_paid(order) -> None:
        services.record_order_paid(order)

    @staticmethod
    def after_refund(order) -> None:
        services.record_order_refunded(order)


def link_opened(opened: LinkOpened) -> None:
    services.record_link_opened(
        link=opened.link, user=opened.user, visitor_key=opened.visitor_key, ip=opened.ip, device=opened.device
    )


def link_signed_in(signed_in: LinkSignedIn) -> None:
    services.record_link_signed_in(link=signed_in.link, user=signed_in.user, ip=signed_in.ip, device=signed_in.device)


def member_joined(joined: MemberJoined) -> None:
    """A first join into a group through someone's link: the shop's binding rule decides whether it binds
    (or moves) the invitee. Re-joins of the same group never bind."""
    membership = joined.membership
    if not (membership.inviter_id and joined.first_time_in_group):
        return
    services.record_join(
        shop_id=membership.group.shop_id,
        invitee=membership.user,
        inviter=membership.inviter,
        link=membership.invite_link,
        group=membership.group,
        channel=membership.channel,
        new_to_shop=first_join_in_shop(membership),
        ip=joined.ip,
        device=joined.device,
    )
