"""Platform admin of 拼团's teams and seats, imported by campaigns/admin.py (the kind's `admin` module).
Reading only, as the engine's: seats and teams are written by the group-buy service alone."""

from django.contrib import admin

from campaigns.admin import ReadOnlyAdmin, ReadOnlyInline
from campaigns.models import Team, TeamSeat


class SeatInline(ReadOnlyInline):
    model = TeamSeat
    fields = ("member", "role", "state", "order", "unit_price", "paid_at", "price_refund", "refund_started_at")
    readonly_fields = fields


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "leader", "state", "seats_taken", "size", "simulated", "expires_at")
    list_filter = ("state", "simulated")
    list_select_related = ("campaign", "leader")
    inlines = [SeatInline]
