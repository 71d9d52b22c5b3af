from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Shop


class ReferralEdge(models.Model):
    """Who brought whom to a shop: one inviter per invitee per shop, the first one.

    Append-only. The database refuses a second edge for the same (shop, invitee) and any
    edge where a person invites themself.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="referral_edges")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referred_by_edges", verbose_name=_("被邀请人")
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_edges", verbose_name=_("邀请人")
    )
    link = models.ForeignKey(
        "groups.InviteLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="referral_edges",
        verbose_name=_("邀请链接"),
    )
    group = models.ForeignKey(
        "groups.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="referral_edges",
        verbose_name=_("加入的群"),
    )
    channel = models.CharField(_("渠道"), max_length=20)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("推荐关系")
        verbose_name_plural = _("推荐关系")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "inviter"])]
        constraints = [
            models.UniqueConstraint(fields=["shop", "invitee"], name="one_inviter_per_invitee_per_shop"),
            models.CheckConstraint(condition=~Q(invitee=F("inviter")), name="no_self_referral"),
        ]

    def __str__(self) -> str:
        return f"{self.inviter} → {self.invitee} ({self.shop})"
