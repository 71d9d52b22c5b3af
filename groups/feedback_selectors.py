"""Reads of the complaints and suggestions box: a member reads only their own items, operators their shop's
(anything else is a 404). Every list is one query whatever its length."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from shops.models import Shop

from .feedback_models import Feedback, FeedbackDepartment
from .models import Group, Membership, MembershipStatus


def group_for_feedback(user, pk: int) -> Group:
    """The group a member sends from: one they are an active member of; anyone else gets a 404."""
    membership = (
        Membership.objects.select_related("group", "group__shop")
        .filter(user=user, group_id=pk, status=MembershipStatus.ACTIVE)
        .first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404
    return membership.group


def for_member(user) -> QuerySet[Feedback]:
    return (
        Feedback.objects.filter(member=user)
        .select_related("group", "shop", "department")
        .order_by("-created_at", "-pk")
    )


def item_for_member(user, pk: int) -> Feedback:
    return get_object_or_404(for_member(user), pk=pk)


def for_shop(
    shop: Shop, *, state: str | None = None, kind: str | None = None, department: int | None = None
) -> QuerySet[Feedback]:
    qs = Feedback.objects.filter(shop=shop).select_related("group", "member", "department", "answered_by")
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if department:
        qs = qs.filter(department_id=department)
    return qs.order_by("-created_at", "-pk")


def item_for_shop(shop: Shop, pk: int) -> Feedback:
    return get_object_or_404(for_shop(shop), pk=pk)


def departments_of(shop: Shop, *, active_only: bool = False) -> QuerySet[FeedbackDepartment]:
    qs = FeedbackDepartment.objects.filter(shop=shop).order_by("name", "pk")
    return qs.filter(active=True) if active_only else qs


def department_for_shop(shop: Shop, pk: int) -> FeedbackDepartment:
    return get_object_or_404(departments_of(shop), pk=pk)
