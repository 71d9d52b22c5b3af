"""The JSON API of a group's 群主/管理员 (groups.powers) and of 群规 appeals.

Stewards act under /me/groups/<id>/manage/: approve or reject an applicant, warn or remove a member (hiding
posts and replies, answering and closing questions are the group space's API). The group is found through
groups.powers: 404 where it does not exist for the caller, 403 where the power is lacking; a membership is
looked up inside the group, so another group's is a 404. Members appeal their own warnings under
/me/warnings/; operators decide their shop's appeals under /shop/appeals/. groups.enforcement decides,
records each act in the audit log and tells the person.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from shequn.api import DENIED, INVALID, NOT_FOUND, SHOP_DENIED, error_doc
from shequn.shop_api import ShopView

from . import enforcement, selectors
from .models import MembershipStatus
from .powers import GroupPower, group_for_power

POWER_DENIED = error_doc("Not signed in, or the group power is lacking (groups.powers).")


class ActedSerializer(serializers.Serializer):
    membership = serializers.IntegerField(help_text="The membership acted on.")
    status = serializers.CharField(help_text="Its status after the act.")
    warning = serializers.IntegerField(required=False, help_text="The warning written (warn only).")
    removed = serializers.BooleanField(required=False, help_text="Whether this warning removed the member.")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="拒绝原因（必填）。")


class WarnSerializer(serializers.Serializer):
    rule = serializers.CharField(max_length=enforcement.RULE_MAX_LENGTH, help_text="违反的群规。")


class RemoveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AppealSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=enforcement.APPEAL_MAX_LENGTH)


class AppealStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    warning = serializers.IntegerField(source="warning_id")
    state = serializers.CharField()
    text = serializers.CharField()
    decision_note = serializers.CharField()


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("withdraw", "撤销警告"), ("uphold", "维持警告")])
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def _acted(membership, warning=None) -> Response:
    data = {"membership": membership.pk, "status": membership.status}
    if warning is not None:
        data |= {"warning": warning.pk, "removed": warning.removed_member}
    return Response(data)


@extend_schema(tags=["member"])
class StewardApplicantView(generics.GenericAPIView):
    serializer_class = RejectSerializer

    @extend_schema(
        summary="Approve or reject an applicant (群主/管理员)",
        description="action approve or reject (reject needs a reason, told to the applicant). Needs the "
        "approve_applicants power in this group.",
        responses={200: ActedSerializer, 400: INVALID, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, membership_pk: int, action: str):
        if action not in ("approve", "reject"):
            raise Http404
        group = group_for_power(request.user, pk, GroupPower.APPROVE_APPLICANTS)
        membership = selectors.membership_in_group(group, membership_pk, status=MembershipStatus.PENDING)
        if action == "approve":
            return _acted(enforcement.approve(membership=membership, by=request.user))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason", "")
        return _acted(enforcement.reject(membership=membership, by=request.user, reason=reason))


@extend_schema(tags=["member"])
class StewardWarnView(generics.GenericAPIView):
    serializer_class = WarnSerializer

    @extend_schema(
        summary="Warn a member for a rule (群主/管理员)",
        description="The shop's Nth standing warning removes the member. Needs the warn_members power.",
        responses={200: ActedSerializer, 400: INVALID, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, membership_pk: int):
        group = group_for_power(request.user, pk, GroupPower.WARN_MEMBERS)
        membership = selectors.membership_in_group(group, membership_pk, status=MembershipStatus.ACTIVE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        warning = enforcement.warn(membership=membership, by=request.user, rule=serializer.validated_data["rule"])
        membership.refresh_from_db(fields=["status"])
        return _acted(membership, warning)


@extend_schema(tags=["member"])
class StewardRemoveView(generics.GenericAPIView):
    serializer_class = RemoveSerializer

    @extend_schema(
        summary="Remove a member (群主/管理员 once the warnings reached the shop's count; operators anyone)",
        responses={200: ActedSerializer, 400: INVALID, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, membership_pk: int):
        group = group_for_power(request.user, pk, GroupPower.REMOVE_MEMBERS)
        membership = selectors.membership_in_group(group, membership_pk, status=MembershipStatus.ACTIVE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data["reason"].strip()
        return _acted(enforcement.remove(membership=membership, by=request.user, reason=reason))


@extend_schema(tags=["member"])
class MyWarningAppealView(generics.GenericAPIView):
    serializer_class = AppealSerializer

    @extend_schema(
        summary="Appeal one of my warnings (once)",
        responses={201: AppealStateSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        warning = selectors.warning_for_member(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        made = enforcement.appeal(warning=warning, member=request.user, text=serializer.validated_data["text"])
        return Response(AppealStateSerializer(made).data, status=201)


@extend_schema(tags=["shop"])
class ShopAppealDecideView(ShopView):
    serializer_class = DecideSerializer

    @extend_schema(
        summary="Decide a warning appeal: withdraw the warning or uphold it (once)",
        responses={200: AppealStateSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        appeal = selectors.appeal_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decided = enforcement.decide_appeal(
            appeal=appeal, by=request.user, withdraw=data["decision"] == "withdraw", note=data["note"]
        )
        return Response(AppealStateSerializer(decided).data)
