"""The JSON API of 比 contests for member clients, included by campaigns/api_urls.py at /api/v1/ (api_urls.py).

Thin: the board and the member's own rank, gap to the next prize and prizes come from views.page_context
(the rules are in kind.py). The campaign is public; the member sees only their own prizes."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from campaigns.models import CampaignType
from shequn.api import DENIED, NOT_FOUND

from ..assisted.api import SocialView
from .views import page_context


class BoardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    name = serializers.CharField(help_text="The member's public name, or the group's name.")
    value = serializers.CharField(help_text="The score in the metric's unit (yuan for sales).")
    qualified = serializers.BooleanField(help_text="Whether the score reaches the contest's minimum.")
    me = serializers.BooleanField(help_text="The signed-in member's row (or their group's).")


class GapSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="The rank of the next better prize.")
    tier = serializers.CharField(help_text="That prize in words.")
    gap = serializers.CharField(help_text="How much more score it takes to reach it.")


class MyPrizeSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()
    state = serializers.CharField(help_text="pending, held (fraud review), granted, withheld or failed.")
    granted_at = serializers.DateTimeField(allow_null=True)


class ContestStateSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    metric = serializers.CharField()
    final = serializers.BooleanField(help_text="True once settled: the board is the frozen final ranking.")
    size = serializers.IntegerField(help_text="How many are on the board.")
    board = BoardRowSerializer(many=True, help_text="The first 50 rows.")
    my_rank = serializers.IntegerField(allow_null=True)
    my_value = serializers.CharField(allow_null=True)
    next_prize = GapSerializer(allow_null=True)
    prizes = MyPrizeSerializer(many=True)


def state_data(campaign, user) -> dict:
    context = page_context(campaign, user)
    mine = context["mine"]
    return {
        "campaign": campaign.pk,
        "metric": context["rules"].metric,
        "final": context["final"],
        "size": context["size"],
        "board": [
            {"rank": r.rank, "name": r.name, "value": str(value), "qualified": r.qualified, "me": r is mine}
            for r, value in context["rows"]
        ],
        "my_rank": mine.rank if mine else None,
        "my_value": str(context["mine_value"]) if mine else None,
        "next_prize": {**context["gap"], "gap": str(context["gap"]["gap"])} if context["gap"] else None,
        "prizes": [
            {"rank": p.entry.rank, "kind": p.kind, "label": p.label, "state": p.state, "granted_at": p.granted_at}
            for p in context["prizes"]
        ],
    }


@extend_schema(tags=["member"])
class MyContestView(SocialView):
    serializer_class = ContestStateSerializer

    @extend_schema(
        summary="A contest's board, my rank, the gap to the next prize and my prizes (比)",
        responses={200: ContestStateSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.CONTEST)
        return Response(ContestStateSerializer(state_data(campaign, request.user)).data)
