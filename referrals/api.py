"""The JSON API of referrals: members (under /me/) see their invitees, rewards, commission and withdrawals;
operators (under /shop/) see the shop's rewards, decide withdrawals and read the viral funnel.

Views are thin: parse with a serializer, call referrals.services (or read through referrals.selectors).
Operator reads are scoped to the operator's current shop and member reads to the member: a miss is a 404.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from shequn.api import DENIED, INVALID, NOT_FOUND, SHOP_DENIED
from shequn.shop_api import IsShopOperator, ShopView
from shops.models import OperatorRole

from . import selectors, services, stewards
from .serializers import (
    WITHDRAWAL_ACTIONS,
    CommissionAccountSerializer,
    MyInviteeSerializer,
    MyRewardSerializer,
    RewardFilterSerializer,
    ShopRewardSerializer,
    ShopStewardRewardSerializer,
    ShopWithdrawalSerializer,
    StewardRewardFilterSerializer,
    StewardRuleSerializer,
    StewardRuleWriteSerializer,
    ViralFilterSerializer,
    ViralRowSerializer,
    WithdrawalCreateSerializer,
    WithdrawalDecisionSerializer,
    WithdrawalFilterSerializer,
    WithdrawalSerializer,
)

# --- Member side ----------------------------------------------------------------------------------


@extend_schema(tags=["member"])
class MyInviteesView(generics.ListAPIView):
    serializer_class = MyInviteeSerializer

    def get_queryset(self):
        return selectors.invitees_of(self.request.user)

    @extend_schema(
        summary="My invitees",
        description="Everyone the member brought to a shop, newest first, "
        "each with how many people they brought in turn (the second level of the referral tree). "
        "An invitee moved to another inviter by the shop's binding rule shows `moved_away`.",
        responses={200: MyInviteeSerializer(many=True), 403: DENIED},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["member"])
class MyRewardsView(generics.ListAPIView):
    serializer_class = MyRewardSerializer

    def get_queryset(self):
        return selectors.rewards_for_member(self.request.user)

    @extend_schema(
        summary="My referral rewards",
        description="Rewards earned for qualified invitees: pending "
        "during the review period (until `due_at`), then granted; reversed if the qualifying order was "
        "refunded in time, withheld after a fraud review, capped above the shop's limit.",
        responses={200: MyRewardSerializer(many=True), 403: DENIED},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["member"])
class MyCommissionView(generics.ListAPIView):
    serializer_class = CommissionAccountSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.commission_accounts_for_member(self.request.user)

    @extend_schema(
        summary="My commission balances",
        description="One balance per shop, withdrawable.",
        responses={200: CommissionAccountSerializer(many=True), 403: DENIED},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["member"])
class MyWithdrawalsView(generics.ListAPIView):
    serializer_class = WithdrawalSerializer

    def get_queryset(self):
        return selectors.withdrawals_for_member(self.request.user)

    @extend_schema(summary="My withdrawal requests", responses={200: WithdrawalSerializer(many=True), 403: DENIED})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Ask to withdraw commission",
        description="The amount leaves the balance at once and an operator pays it out (no payout gateway). "
        "One open request per shop at a time. 400 when the balance is short or a request is open.",
        request=WithdrawalCreateSerializer,
        responses={201: WithdrawalSerializer, 400: INVALID, 403: DENIED},
    )
    def post(self, request):
        serializer = WithdrawalCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        withdrawal = services.request_withdrawal(
            member=request.user, shop_id=data["shop"], amount=data["amount"], account_note=data["account_note"]
        )
        withdrawal = selectors.withdrawal_for_member(request.user, withdrawal.pk)
        return Response(WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)


# --- Operator side --------------------------------------------------------------------------------


@extend_schema(tags=["shop"])
class ShopRewardsView(ShopView):
    serializer_class = ShopRewardSerializer

    @extend_schema(
        summary="The shop's referral rewards",
        parameters=[RewardFilterSerializer],
        responses={200: ShopRewardSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = RewardFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.rewards_for_shop(self.shop, status=filters.validated_data.get("status")), ShopRewardSerializer
        )


@extend_schema(tags=["shop"])
class ShopWithdrawalsView(ShopView):
    serializer_class = ShopWithdrawalSerializer

    @extend_schema(
        summary="The shop's withdrawal requests",
        parameters=[WithdrawalFilterSerializer],
        responses={200: ShopWithdrawalSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = WithdrawalFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.withdrawals_for_shop(self.shop, status=filters.validated_data.get("status")),
            ShopWithdrawalSerializer,
        )


@extend_schema(tags=["shop"])
class ShopWithdrawalActionView(ShopView):
    serializer_class = WithdrawalDecisionSerializer

    @extend_schema(
        summary="Decide on a withdrawal",
        description="approve (requested → approved), reject (requested/approved → rejected, body: note; the money "
        "goes back to the balance), mark-paid (approved → paid, body: payout_reference of the transfer).",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(WITHDRAWAL_ACTIONS)),
        ],
        request=WithdrawalDecisionSerializer,
        responses={200: ShopWithdrawalSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, action: str):
        withdrawal = selectors.withdrawal_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note, reference = serializer.validated_data["note"], serializer.validated_data["payout_reference"]
        actions = {
            "approve": lambda: services.approve_withdrawal(withdrawal=withdrawal, by=request.user, note=note),
            "reject": lambda: services.reject_withdrawal(withdrawal=withdrawal, by=request.user, note=note),
            "mark-paid": lambda: services.mark_withdrawal_paid(
                withdrawal=withdrawal, by=request.user, payout_reference=reference
            ),
        }
        actions[action]()
        withdrawal = selectors.withdrawals_for_shop(self.shop).get(pk=pk)
        return Response(ShopWithdrawalSerializer(withdrawal).data)


@extend_schema(tags=["shop"])
class ShopViralView(ShopView):
    serializer_class = ViralRowSerializer
    pagination_class = None  # one row per group, series or campaign: answered whole

    @extend_schema(
        summary="Viral coefficient per group, series or campaign",
        description="Invites sent (link opens) → joins → second-generation joins, from live events.",
        parameters=[ViralFilterSerializer],
        responses={200: ViralRowSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = ViralFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.viral_table(self.shop, filters.validated_data["by"])
        return Response(ViralRowSerializer(rows, many=True).data)


# --- Stewards' rewards (群主 / 群管理) ---------------------------------------------------------------------


class IsShopOwnerToWrite(IsShopOperator):
    required_role = OperatorRole.OWNER  # money is at stake, as with the referral rules


@extend_schema(tags=["shop"])
class ShopStewardRulesView(ShopView):
    serializer_class = StewardRuleSerializer
    permission_classes = [IsShopOwnerToWrite]
    pagination_class = None  # at most one active rule per role

    def _rules(self):
        rules = stewards.active_rules(self.shop.pk)
        return [rules[role] for role in sorted(rules)]

    @extend_schema(
        summary="The shop's stewards' reward rules",
        description="The active rule of each group role rewarded for its group's paid orders (owner, admin).",
        responses={200: StewardRuleSerializer(many=True), 403: SHOP_DENIED},
    )
    def get(self, request):
        return Response(StewardRuleSerializer(self._rules(), many=True).data)

    @extend_schema(
        summary="Set one role's stewards' reward rule",
        description="Owners only. commission: `rate` percent of what the order keeps (0.01–50); points: `rate` "
        "points per yuan kept (0.01–1000). `enabled: false` switches the role's reward off. Answers all rules.",
        request=StewardRuleWriteSerializer,
        responses={200: StewardRuleSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def put(self, request):
        serializer = StewardRuleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stewards.save_rule(shop=self.shop, by=request.user, data=stewards.RuleInput(**serializer.validated_data))
        return Response(StewardRuleSerializer(self._rules(), many=True).data)


@extend_schema(tags=["shop"])
class ShopStewardRewardsView(ShopView):
    serializer_class = ShopStewardRewardSerializer

    @extend_schema(
        summary="The shop's stewards' rewards",
        description="Newest first: pending during the review period, granted (amount recomputed from what the "
        "order keeps), reversed when the order was refunded in full in time.",
        parameters=[StewardRewardFilterSerializer],
        responses={200: ShopStewardRewardSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = StewardRewardFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            stewards.rewards_for_shop(self.shop, status=filters.validated_data.get("status")),
            ShopStewardRewardSerializer,
        )
