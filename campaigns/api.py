"""The engine's JSON API for members: read a campaign (its landing page's content, and each type's own
fields from its kind's `api_fields`). Each type's own API is its kind's `api_urls` module; a draft campaign
is a 404."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response

from orders.api import TransitionRefusedIsAConflict
from shequn.api import DENIED, NOT_FOUND

from . import selectors
from .serializers import CampaignSerializer


@extend_schema(tags=["member"])
class CampaignView(TransitionRefusedIsAConflict, generics.GenericAPIView):
    serializer_class = CampaignSerializer

    @extend_schema(
        summary="A campaign (its landing page's content and rules)",
        responses={200: CampaignSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = selectors.public_campaign(pk)
        return Response(CampaignSerializer(campaign, context=self.get_serializer_context()).data)
