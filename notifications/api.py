"""The member's inbox and message preferences as JSON (mini-program, H5 clients), under /me/.

A member reads only their own inbox (anyone else's message is a 404) and sets preferences only for
shops they belong to or hear from.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response

from shequn.api import DENIED, INVALID, NOT_FOUND, error_response

from . import selectors, services
from .models import NotificationSettings, Preference
from .serializers import (
    InboxFilterSerializer,
    InboxNotificationSerializer,
    MarkedSerializer,
    PreferenceSerializer,
    UnreadCountSerializer,
    WechatGrantsSerializer,
    WechatSubscriptionsSerializer,
)


def _preference_data(preference: Preference, shop, shop_settings: NotificationSettings) -> dict:
    return {
        "shop": {"id": shop.pk, "name": shop.name},
        "marketing": preference.marketing,
        "reminder": preference.reminder,
        "campaign": preference.campaign,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
        "shop_quiet_start": shop_settings.quiet_start,
        "shop_quiet_end": shop_settings.quiet_end,
    }


@extend_schema(tags=["member"])
class MyNotificationsView(generics.GenericAPIView):
    serializer_class = InboxNotificationSerializer

    @extend_schema(
        summary="My inbox",
        description="Messages the member received from every shop, newest first.",
        parameters=[InboxFilterSerializer],
        responses={200: InboxNotificationSerializer(many=True), 400: INVALID, 403: DENIED},
    )
    def get(self, request):
        filters = InboxFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        inbox = selectors.inbox_for_member(request.user, unread_only=filters.validated_data["unread"])
        page = self.paginate_queryset(inbox)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["member"])
class MyUnreadCountView(generics.GenericAPIView):
    serializer_class = UnreadCountSerializer

    @extend_schema(summary="How many of my messages are unread", responses={200: UnreadCountSerializer, 403: DENIED})
    def get(self, request):
        return Response({"unread": selectors.unread_count_for_member(request.user)})


@extend_schema(tags=["member"])
class MyNotificationView(generics.GenericAPIView):
    serializer_class = InboxNotificationSerializer

    @extend_schema(
        summary="One of my messages",
        description="Reading it here does not mark it read.",
        responses={200: InboxNotificationSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(self.get_serializer(selectors.notification_for_member(request.user, pk)).data)


@extend_schema(tags=["member"])
class MyNotificationReadView(generics.GenericAPIView):
    serializer_class = InboxNotificationSerializer

    @extend_schema(
        summary="Mark one of my messages read",
        description="Idempotent: the first read time stays.",
        request=None,
        responses={200: InboxNotificationSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        notification = services.mark_read(notification=selectors.notification_for_member(request.user, pk))
        return Response(self.get_serializer(notification).data)


@extend_schema(tags=["member"])
class MyNotificationsReadAllView(generics.GenericAPIView):
    serializer_class = MarkedSerializer

    @extend_schema(summary="Mark all my messages read", request=None, responses={200: MarkedSerializer, 403: DENIED})
    def post(self, request):
        return Response({"marked": services.mark_all_read(user=request.user)})


@extend_schema(tags=["member"])
class MyPreferencesView(generics.GenericAPIView):
    serializer_class = PreferenceSerializer
    pagination_class = None

    @extend_schema(
        summary="My message preferences, per shop",
        description="One entry per shop the member belongs to or hears from.",
        responses={200: PreferenceSerializer(many=True), 403: DENIED},
    )
    def get(self, request):
        shops = list(selectors.shops_for_member(request.user))
        chosen = {p.shop_id: p for p in Preference.objects.filter(user=request.user, shop__in=shops)}
        rules = {s.shop_id: s for s in NotificationSettings.objects.filter(shop__in=shops)}
        data = [
            _preference_data(
                chosen.get(shop.pk) or Preference(user=request.user, shop=shop),
                shop,
                rules.get(shop.pk) or NotificationSettings(shop=shop),
            )
            for shop in shops
        ]
        return Response(self.get_serializer(data, many=True).data)


@extend_schema(tags=["member"])
class MyShopPreferencesView(generics.GenericAPIView):
    serializer_class = PreferenceSerializer

    def _render(self, shop) -> Response:
        data = _preference_data(services.preferences_for(self.request.user, shop), shop, services.settings_for(shop))
        return Response(self.get_serializer(data).data)

    @extend_schema(
        summary="My message preferences for a shop", responses={200: PreferenceSerializer, 403: DENIED, 404: NOT_FOUND}
    )
    def get(self, request, shop_id: int):
        return self._render(selectors.shop_for_member(request.user, shop_id))

    @extend_schema(
        summary="Change my message preferences for a shop",
        description="Send only what changes. Quiet hours: both times, or both null for the shop's default.",
        request=PreferenceSerializer,
        responses={200: PreferenceSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def patch(self, request, shop_id: int):
        shop = selectors.shop_for_member(request.user, shop_id)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        current = services.preferences_for(request.user, shop)
        choices = {
            name: getattr(current, name) for name in ("marketing", "reminder", "campaign", "quiet_start", "quiet_end")
        }
        choices.update(serializer.validated_data)
        services.update_preferences(user=request.user, shop=shop, **choices)
        return self._render(shop)


@extend_schema(tags=["member"])
class MyWechatSubscriptionsView(generics.GenericAPIView):
    serializer_class = WechatSubscriptionsSerializer

    @extend_schema(
        summary="Record the WeChat subscribe messages I accepted (mini-program)",
        description="After wx.requestSubscribeMessage, the mini-program sends wx.login()'s code and the accepted "
        "template ids: each acceptance lets the shop send one such message to the member in WeChat.",
        request=WechatSubscriptionsSerializer,
        responses={200: WechatGrantsSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 502: INVALID},
    )
    def post(self, request):
        from .wechat import INVALID_LOGIN_CODE, WechatApiError, record_subscriptions

        if not settings.WECHAT_MINIPROGRAM_APP_ID:
            return error_response(_("本站没有开通小程序订阅消息。"), code="not_enabled", http_status=404)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            remaining = record_subscriptions(user=request.user, **serializer.validated_data)
        except WechatApiError as exc:
            if exc.errcode in INVALID_LOGIN_CODE:  # the client's code, not WeChat, is at fault
                return error_response(_("登录凭证无效或已使用，请重新获取。"), code="invalid", field="code")
            return error_response(_("微信暂时无法确认你的身份，请稍后重试。"), code="wechat_error", http_status=502)
        return Response(WechatGrantsSerializer({"remaining": remaining}).data)
