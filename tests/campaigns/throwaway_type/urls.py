"""The throwaway type's member page, included by campaigns/member_urls.py (namespace "campaigns")."""

from django.http import HttpResponse
from django.urls import path

from campaigns import selectors


def stamp_card(request, pk: int):
    campaign = selectors.public_campaign(pk)
    return HttpResponse(f"{campaign.name}: {campaign.settings['stamps_needed']}")


urlpatterns = [path("<int:pk>/stamp/", stamp_card, name="stamp_card")]
