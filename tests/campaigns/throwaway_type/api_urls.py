"""The throwaway type's member API, included by campaigns/api_urls.py at /api/v1/."""

from django.http import JsonResponse
from django.urls import path

from campaigns import selectors


def stamps(request, pk: int):
    campaign = selectors.public_campaign(pk)
    return JsonResponse({"campaign": campaign.pk, "stamps_needed": campaign.settings["stamps_needed"]})


urlpatterns = [path("me/campaigns/<int:pk>/stamps/", stamps, name="api-my-stamps")]
