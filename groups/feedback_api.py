"""The complaints and suggestions box's JSON API: members under /me/ (their own items; a group they are not
an active member of, or another member's item, is a 404), operators under /shop/ (scoped to the operator's
shop; another shop's item is a 404; viewers read, operators write). Thin: groups.feedback decides."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from shequn.api import DENIED, INVALID, NOT_FOUND, SHOP_DENIED
from shequn.shop_api import ShopView

from . import feedback
from . import feedback_selectors as selectors
from .feedback_serializers import (
    AnswerSerializer,
    DepartmentSerializer,
    FeedbackSerializer,
    FeedbackSubmitSerializer,
    RouteSerializer,
    ShopFeedbackFilterSerializer,
    ShopFeedbackSerializer,
)

# --- Members ------------------------------------------------------------------------------------------


@extend_schema(tags=["member"])
class MyGroupFeedbackView(generics.GenericAPIView):
    serializer_class = FeedbackSubmitSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        summary="Send a complaint or suggestion from a group",
        description="Active members of the group only. kind complaint or suggestion, a text, one optional photo "
        "(multipart). The shop routes it to a department and answers; the member is told once.",
        request={"multipart/form-data": FeedbackSubmitSerializer, "application/json": FeedbackSubmitSerializer},
        responses={201: FeedbackSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        group = selectors.group_for_feedback(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        item = feedback.submit(
            group=group, member=request.user, kind=data["kind"], body=data["body"], photo=data.get("photo")
        )
        item = selectors.item_for_member(request.user, item.pk)
        return Response(FeedbackSerializer(item, context=self.get_serializer_context()).data, status=201)


@extend_schema(tags=["member"])
class MyFeedbackListView(generics.GenericAPIView):
    serializer_class = FeedbackSerializer

    @extend_schema(
        summary="My complaints and suggestions",
        description="Newest first, each with its state and, once answered, the answer.",
        responses={200: FeedbackSerializer(many=True), 403: DENIED},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.for_member(request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["member"])
class MyFeedbackView(generics.GenericAPIView):
    serializer_class = FeedbackSerializer

    @extend_schema(
        summary="One of my complaints or suggestions", responses={200: FeedbackSerializer, 403: DENIED, 404: NOT_FOUND}
    )
    def get(self, request, pk: int):
        return Response(self.get_serializer(selectors.item_for_member(request.user, pk)).data)


# --- Operators ----------------------------------------------------------------------------------------


class _ShopFeedback(ShopView):
    def get_serializer_context(self):
        return {**super().get_serializer_context(), "operator": True}

    def item_data(self, item) -> Response:
        item = selectors.item_for_shop(self.shop, item.pk)
        return Response(ShopFeedbackSerializer(item, context=self.get_serializer_context()).data)


@extend_schema(tags=["shop"])
class ShopFeedbackListView(_ShopFeedback):
    serializer_class = ShopFeedbackSerializer

    @extend_schema(
        summary="The shop's complaints and suggestions",
        description="Newest first; filter by state, kind and department.",
        parameters=[ShopFeedbackFilterSerializer],
        responses={200: ShopFeedbackSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = ShopFeedbackFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(selectors.for_shop(self.shop, **filters.validated_data), ShopFeedbackSerializer)


@extend_schema(tags=["shop"])
class ShopFeedbackView(_ShopFeedback):
    serializer_class = ShopFeedbackSerializer

    @extend_schema(
        summary="One complaint or suggestion", responses={200: ShopFeedbackSerializer, 403: SHOP_DENIED, 404: NOT_FOUND}
    )
    def get(self, request, pk: int):
        return self.item_data(selectors.item_for_shop(self.shop, pk))


@extend_schema(tags=["shop"])
class ShopFeedbackRouteView(_ShopFeedback):
    serializer_class = RouteSerializer

    @extend_schema(
        summary="Route to a department",
        description="From new or routed (to change the department). The department must be the shop's and active.",
        responses={200: ShopFeedbackSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        item = selectors.item_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        department = selectors.departments_of(self.shop).filter(pk=serializer.validated_data["department"]).first()
        if department is None:
            raise ValidationError({"department": [_("请选择本店启用中的部门。")]})
        return self.item_data(feedback.route(item=item, by=request.user, department=department))


@extend_schema(tags=["shop"])
class ShopFeedbackAnswerView(_ShopFeedback):
    serializer_class = AnswerSerializer

    @extend_schema(
        summary="Answer the member",
        description="A routed item only; the member is told once and reads the answer on their page.",
        responses={200: ShopFeedbackSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        item = selectors.item_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.item_data(feedback.answer(item=item, by=request.user, text=serializer.validated_data["answer"]))


@extend_schema(tags=["shop"])
class ShopFeedbackCloseView(_ShopFeedback):
    serializer_class = ShopFeedbackSerializer

    @extend_schema(
        summary="Close",
        request=None,
        responses={200: ShopFeedbackSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        item = selectors.item_for_shop(self.shop, pk)
        return self.item_data(feedback.close(item=item, by=request.user))


@extend_schema(tags=["shop"])
class ShopFeedbackDepartmentsView(ShopView):
    serializer_class = DepartmentSerializer

    @extend_schema(summary="The shop's departments", responses={200: DepartmentSerializer(many=True), 403: SHOP_DENIED})
    def get(self, request):
        return self.paginated(selectors.departments_of(self.shop), DepartmentSerializer)

    @extend_schema(
        summary="Add a department",
        responses={201: DepartmentSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        department = feedback.create_department(
            shop_id=self.shop.pk, by=request.user, name=serializer.validated_data["name"]
        )
        return Response(DepartmentSerializer(department).data, status=status.HTTP_201_CREATED)
