"""The JSON API of 券 coupons for member clients, included by campaigns/api_urls.py at /api/v1/ (its urls:
api_urls.py). Thin views: parse, call the type's rules (kind.py), render. A member sees only their own
coupons; a refused claim is a 409 whose `code` is the reason."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from campaigns.models import CampaignType, Coupon, CouponChannel, CouponState
from shequn.api import DENIED, NOT_FOUND

from ..assisted.api import REFUSED, SocialView, _refused
from . import kind as coupons
from .kind import CouponRefused


class CouponSerializer(serializers.ModelSerializer):
    template = serializers.IntegerField(source="campaign_id", help_text="The coupon campaign (template).")
    name = serializers.SerializerMethodField()
    face = serializers.SerializerMethodField(help_text="The coupon's value in words: 满 100 减 20, 8.5 折…")
    kind = serializers.SerializerMethodField(help_text="threshold, percent, no_threshold or exchange.")
    order = serializers.IntegerField(source="order_id", allow_null=True)

    class Meta:
        model = Coupon
        fields = ["id", "template", "name", "face", "kind", "state", "channel", "valid_from", "valid_until", "order"]

    def get_name(self, coupon) -> str:
        return coupon.terms.get("name", "")

    def get_face(self, coupon) -> str:
        return coupons.face_words(coupon.terms)

    def get_kind(self, coupon) -> str:
        return coupon.terms.get("coupon_kind", "")


class CentreTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    shop = serializers.CharField(source="shop.name")
    face = serializers.CharField()
    ends_at = serializers.DateTimeField()
    left = serializers.IntegerField(allow_null=True, help_text="Supply left; null: unlimited.")
    mine = serializers.IntegerField(help_text="How many of it the member has claimed.")
    limit = serializers.IntegerField(help_text="How many one member may claim.")


@extend_schema(tags=["member"])
class MyCouponsView(generics.ListAPIView):
    serializer_class = CouponSerializer

    @extend_schema(summary="My coupons (我的优惠券)", responses={200: CouponSerializer(many=True), 403: DENIED})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = coupons.coupons_of_member(self.request.user)
        state = self.request.query_params.get("state")
        if state in CouponState.values:
            qs = qs.filter(state=state)
        return qs


@extend_schema(tags=["member"])
class CouponCentreView(generics.GenericAPIView):
    serializer_class = CentreTemplateSerializer

    @extend_schema(
        summary="The coupon centre (领券中心)",
        description="Running coupon templates the member may claim, in the shops whose groups they are in.",
        responses={200: CentreTemplateSerializer(many=True), 403: DENIED},
    )
    def get(self, request):
        return Response(CentreTemplateSerializer(coupons.centre_templates(request.user), many=True).data)


@extend_schema(tags=["member"])
class ClaimCouponView(SocialView):
    serializer_class = CouponSerializer

    @extend_schema(
        summary="Claim a coupon (领券)",
        description="Claims one coupon of a running coupon template: within the per-member and per-day limits "
        "and the supply (the last one goes to exactly one member).",
        request=None,
        responses={201: CouponSerializer, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.COUPON)
        try:
            coupon = coupons.claim_coupon(campaign=campaign, member=request.user, channel=CouponChannel.CENTRE)
        except CouponRefused as exc:
            return _refused(exc)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)
