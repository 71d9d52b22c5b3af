"""The shop's complaints and suggestions box (投诉与建议): what a member sends from a group page, the shop's
departments it is routed to, and the answer the member reads.

Imported by groups/models.py so Django finds the models; the rules live in groups/feedback.py.

Invariants the database holds:
- a department's name is unique in its shop;
- a routed or answered item names a department; an answered one has its answer, when and by whom;
- a closed item keeps whatever it had (closing is the operator's last word, answered or not).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Shop

from .space_models import private_storage

FEEDBACK_MAX_LENGTH = 1000
ANSWER_MAX_LENGTH = 1000
DEPARTMENT_NAME_MAX_LENGTH = 40


class FeedbackKind(models.TextChoices):
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("建议")


class FeedbackState(models.TextChoices):
    NEW = "new", _("待处理")
    ROUTED = "routed", _("已转部门")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已关闭")


class FeedbackDepartment(models.Model):
    """A department of the shop that complaints and suggestions are routed to (售后部、物流部…)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="feedback_departments")
    name = models.CharField(_("部门名称"), max_length=DEPARTMENT_NAME_MAX_LENGTH)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("处理部门")
        verbose_name_plural = _("处理部门")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "name"],
                name="feedback_department_unique_name",
                violation_error_message=_("已有同名部门。"),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Feedback(models.Model):
    """A member's complaint or suggestion, from one of the shop's groups, moving new → routed → answered →
    closed (groups.feedback.TRANSITIONS)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="feedback")
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, related_name="feedback", verbose_name=_("来自群")
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("成员")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=FeedbackKind.choices)
    body = models.TextField(_("内容"), max_length=FEEDBACK_MAX_LENGTH)
    photo = models.FileField(_("照片"), upload_to="feedback/%Y/%m/", storage=private_storage, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    state = models.CharField(_("状态"), max_length=10, choices=FeedbackState.choices, default=FeedbackState.NEW)
    department = models.ForeignKey(
        FeedbackDepartment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback",
        verbose_name=_("处理部门"),
    )
    routed_at = models.DateTimeField(_("转部门时间"), null=True, blank=True)
    answer = models.TextField(_("答复"), max_length=ANSWER_MAX_LENGTH, blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("答复人"),
    )
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("投诉与建议")
        verbose_name_plural = _("投诉与建议")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["shop", "state", "created_at"], name="feedback_shop_state_idx"),
            models.Index(fields=["member", "created_at"], name="feedback_member_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state__in=["routed", "answered"]) | Q(department__isnull=False),
                name="feedback_routed_has_department",
            ),
            models.CheckConstraint(
                condition=~Q(state="answered") | (~Q(answer="") & Q(answered_at__isnull=False)),
                name="feedback_answered_has_answer",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False), name="feedback_closed_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
