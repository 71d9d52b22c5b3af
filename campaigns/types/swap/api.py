"""The JSON API of 换物 for member clients, included by campaigns/api_urls.py at /api/v1/ (api_urls.py).

Thin views: parse, call the type's rules (kind.py), render. A listing exists only for those who may see it (the
members of its group, the parties of a swap on it), a swap only for its two members: anyone else gets a 404.
A refused act is a 409 whose `code` is the reason (not_listed, already_offered, item_taken, not_allowed,
already_confirmed, banned…). Money in a priced swap is arranged between the members: nothing is paid here.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from campaigns.models import CampaignType
from shequn.api import DENIED, INVALID, NOT_FOUND, error_response
from shequn.bounds import MAX_ID
from shequn.serializers import person

from ..assisted.api import REFUSED, PersonField, SocialView, _refused
from . import kind as swapping
from .kind import SwapRefused
from .models import NOTE_MAX_LENGTH, TEXT_MAX_LENGTH, TITLE_MAX_LENGTH, WANTED_MAX_LENGTH, Handover, SwapState


class ListingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    group = serializers.IntegerField()
    group_name = serializers.CharField()
    owner = PersonField()
    title = serializers.CharField()
    description = serializers.CharField()
    wanted = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    handover = serializers.ChoiceField(choices=Handover.choices)
    state = serializers.CharField()
    hidden = serializers.BooleanField()
    photos = serializers.ListField(child=serializers.CharField(), help_text="The photos' URLs (members only).")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class SwapMoveSerializer(serializers.Serializer):
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    by = serializers.IntegerField(allow_null=True, help_text="Who made the move (null: the expiry job).")
    at = serializers.DateTimeField()
    note = serializers.CharField()


class SwapSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    listing = serializers.IntegerField()
    listing_title = serializers.CharField()
    owner = PersonField()
    offerer = PersonField()
    offered_listing = serializers.IntegerField(allow_null=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    message = serializers.CharField()
    state = serializers.ChoiceField(choices=SwapState.choices)
    side = serializers.CharField(help_text="owner or offerer: which side the member is.")
    expires_at = serializers.DateTimeField()
    owner_handed_at = serializers.DateTimeField(allow_null=True)
    offerer_handed_at = serializers.DateTimeField(allow_null=True)
    moves = SwapMoveSerializer(many=True, required=False)


class ListingRequestSerializer(serializers.Serializer):
    group = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A group of the campaign I am in.")
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    description = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH)
    wanted = serializers.CharField(required=False, allow_blank=True, max_length=WANTED_MAX_LENGTH)
    price = serializers.CharField(required=False, allow_blank=True, max_length=20, help_text="Yuan, e.g. 25.50.")
    handover = serializers.ChoiceField(choices=Handover.choices, default=Handover.PICKUP)
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, max_length=swapping.MAX_PHOTOS, help_text="Multipart."
    )


class OfferRequestSerializer(serializers.Serializer):
    offered_listing = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="An item of mine."
    )
    price = serializers.CharField(required=False, allow_blank=True, max_length=20)
    message = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH)


class NoteRequestSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH)


class ReportRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=NOTE_MAX_LENGTH)
    about = serializers.ChoiceField(choices=["listing", "member"], default="listing")


def listing_data(listing) -> dict:
    return {
        "id": listing.pk,
        "campaign": listing.campaign_id,
        "group": listing.group_id,
        "group_name": listing.group.name,
        "owner": person(listing.owner),
        "title": listing.title,
        "description": listing.description,
        "wanted": listing.wanted,
        "price": listing.price,
        "handover": listing.handover,
        "state": listing.state,
        "hidden": listing.is_hidden,
        "photos": [reverse("campaigns:swap_photo", args=[p.pk]) for p in listing.photos.all()],
        "created_at": listing.created_at,
        "expires_at": listing.expires_at,
    }


def swap_data(swap, user, *, moves: bool = False) -> dict:
    data = {
        "id": swap.pk,
        "campaign": swap.campaign_id,
        "listing": swap.listing_id,
        "listing_title": swap.listing.title,
        "owner": person(swap.owner),
        "offerer": person(swap.offerer),
        "offered_listing": swap.offered_listing_id,
        "price": swap.price,
        "message": swap.message,
        "state": swap.state,
        "side": swap.party(user) or "",
        "expires_at": swap.expires_at,
        "owner_handed_at": swap.owner_handed_at,
        "offerer_handed_at": swap.offerer_handed_at,
    }
    if moves:
        data["moves"] = [
            {"from_state": m.from_state, "to_state": m.to_state, "by": m.by_id, "at": m.at, "note": m.note}
            for m in swap.moves.filter(of_swap=True).order_by("at", "pk")
        ]
    return data


def _invalid(error: ValidationError) -> Response:
    if hasattr(error, "error_dict"):
        field, messages = next(iter(error.message_dict.items()))
        return error_response(messages[0], code="invalid", field=field)
    return error_response(error.messages[0], code="invalid")


@extend_schema(tags=["member"])
class MySwapListingsView(SocialView):
    serializer_class = ListingSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        summary="Listed items of a swap campaign in my groups (换物), newest first",
        responses={200: ListingSerializer(many=True), 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.SWAP)
        return Response([listing_data(item) for item in swapping.browse(campaign, request.user)])

    @extend_schema(
        summary="List an item to swap or sell (换物)",
        description="In a group of the campaign the member is in: what they want in return, or a price, or both; "
        "photos as multipart. A price is arranged between the members: nothing is paid here.",
        request=ListingRequestSerializer,
        responses={201: ListingSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.SWAP)
        given = ListingRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        group = next((g for g in swapping.member_groups(campaign, request.user) if g.pk == data["group"]), None)
        try:
            item = swapping.create_listing(
                campaign=campaign,
                member=request.user,
                group=group,
                title=data["title"],
                description=data.get("description", ""),
                wanted=data.get("wanted", ""),
                price=data.get("price"),
                handover=data["handover"],
                photos=data.get("photos", ()),
            )
        except SwapRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return _invalid(exc)
        return Response(listing_data(item), status=status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class MySwapListingView(SocialView):
    serializer_class = ListingSerializer

    @extend_schema(
        summary="One item (换物) I may see",
        responses={200: ListingSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, listing: int):
        return Response(listing_data(swapping.listing_for_member(request.user, listing)))


@extend_schema(tags=["member"])
class MySwapOfferView(SocialView):
    serializer_class = OfferRequestSerializer

    @extend_schema(
        summary="Offer on an item (出价): an item of mine or a price",
        request=OfferRequestSerializer,
        responses={201: SwapSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, listing: int):
        item = swapping.listing_for_member(request.user, listing)
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        offered = None
        if data.get("offered_listing"):
            offered = next(
                (i for i in swapping.offerable_items(item.campaign, request.user) if i.pk == data["offered_listing"]),
                None,
            )
            if offered is None:
                return _refused(SwapRefused("offered_item"))
        try:
            swap = swapping.make_offer(
                listing=item,
                member=request.user,
                offered_listing=offered,
                price=data.get("price"),
                message=data.get("message", ""),
            )
        except SwapRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return _invalid(exc)
        return Response(swap_data(swap, request.user), status=status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class MySwapReportView(SocialView):
    serializer_class = ReportRequestSerializer

    @extend_schema(
        summary="Report an item or its owner (举报)",
        request=ReportRequestSerializer,
        responses={204: None, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, listing: int):
        item = swapping.listing_for_member(request.user, listing)
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        about_member = given.validated_data["about"] == "member"
        try:
            swapping.report(
                campaign=item.campaign,
                reporter=request.user,
                listing=None if about_member else item,
                member=item.owner if about_member else None,
                reason=given.validated_data["reason"],
            )
        except ValidationError as exc:
            return _invalid(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["member"])
class MySwapsView(SocialView):
    serializer_class = SwapSerializer
    pagination_class = None  # the newest swaps only (LISTED_ON_PAGE), as the member page lists them

    @extend_schema(
        summary="My swaps (换物): offers I made and received, newest first",
        responses={200: SwapSerializer(many=True), 403: DENIED},
    )
    def get(self, request):
        return Response([swap_data(swap, request.user) for swap in swapping.my_swaps(request.user)])


@extend_schema(tags=["member"])
class MySwapView(SocialView):
    serializer_class = SwapSerializer

    @extend_schema(
        summary="One of my swaps with every move",
        responses={200: SwapSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, swap: int):
        found = swapping.swap_for_party(request.user, swap)
        return Response(swap_data(found, request.user, moves=True))


SWAP_ACTS = {
    "agree": swapping.agree,
    "decline": swapping.decline,
    "withdraw": swapping.withdraw,
    "confirm": swapping.confirm_handover,
}


@extend_schema(tags=["member"])
class MySwapActView(SocialView):
    serializer_class = NoteRequestSerializer

    @extend_schema(
        summary="A move of my swap: agree, decline, withdraw, confirm (the hand-over) or dispute",
        description="agree and decline are the item's owner's; withdraw the offerer's (an open offer) or either "
        "side's (an agreed swap before any hand-over); confirm and dispute either side's. dispute needs a note.",
        request=NoteRequestSerializer,
        responses={200: SwapSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, swap: int, action: str):
        found = swapping.swap_for_party(request.user, swap)
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            if action == "dispute":
                found = swapping.dispute(swap=found, member=request.user, note=given.validated_data.get("note", ""))
            elif action in SWAP_ACTS:
                found = SWAP_ACTS[action](swap=found, member=request.user)
            else:
                raise Http404
        except SwapRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return _invalid(exc)
        found = swapping.swap_for_party(request.user, found.pk)
        return Response(swap_data(found, request.user, moves=True))
