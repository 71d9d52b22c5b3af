"""The operators' side of every app's JSON API: a seat on a shop, and the base view scoped to it.

Operator reads and writes are scoped to the operator's current shop, so another shop's object is a 404.
This module sits above shops (it reads the seat) and below every app that serves an operator API.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import generics, permissions
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from shops.models import OperatorRole
from shops.tenancy import current_seat


class IsShopOperator(permissions.BasePermission):
    """A seat on a shop: any seat may read, `required_role` (operator by default) may write.

    Like shops.tenancy.operator_required, it sets request.shop and request.operator; views scope every
    lookup to request.shop. Subclass with `required_role = OperatorRole.OWNER` for owner-only writes.
    """

    read_role = OperatorRole.VIEWER
    required_role = OperatorRole.OPERATOR

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers not_authenticated
        seat = current_seat(request)
        if seat is None:
            raise PermissionDenied(_("您不是任何店铺的运营人员。"), code="no_shop_seat")
        role = self.read_role if request.method in permissions.SAFE_METHODS else self.required_role
        if not seat.can(role):
            raise PermissionDenied(_("您的角色无权执行此操作。"))
        request.shop, request.operator = seat.shop, seat
        return True


class ShopView(generics.GenericAPIView):
    """An operator API view: `self.shop` is the operator's current shop, serializers get it as context."""

    permission_classes = [IsShopOperator]

    @property
    def shop(self):
        return self.request.shop

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self.request, "shop"):
            context["shop"] = self.request.shop
        return context

    def paginated(self, queryset, serializer_class) -> Response:
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)
