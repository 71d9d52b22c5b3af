"""The operators' JSON API for playbooks (/api/v1/shop/…): the shop's playbooks with their steps, today's
steps across its groups, a group's timeline, and done / skip / reschedule on a step. Scoped to the
operator's shop (another shop's object is a 404); viewers read, operators write (403). Thin:
playbooks.services decides, playbooks.selectors reads; the editor itself is the dashboard's."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from groups import selectors as group_selectors
from shequn.api import INVALID, NOT_FOUND, SHOP_DENIED
from shequn.shop_api import ShopView

from . import selectors, services
from .forms import NOTE_MAX_LENGTH
from .models import Playbook, PlaybookStep, RunStep


class PlaybookStepSerializer(serializers.ModelSerializer):
    campaign_template = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = PlaybookStep
        fields = ["id", "day", "at_time", "action", "title", "body", "campaign_template", "campaign_days"]


class PlaybookSerializer(serializers.ModelSerializer):
    steps = PlaybookStepSerializer(many=True, read_only=True)
    match_tag = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Playbook
        fields = ["id", "name", "description", "match_tag", "match_kind", "is_default", "is_active", "steps"]


class RunStepSerializer(serializers.ModelSerializer):
    group = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    done_by = serializers.SerializerMethodField()

    class Meta:
        model = RunStep
        fields = [
            "id",
            "group",
            "position",
            "day",
            "action",
            "title",
            "due_at",
            "state",
            "overdue",
            "done_at",
            "done_by",
            "result",
            "note",
        ]

    def get_group(self, step) -> dict:
        return {"id": step.run.group_id, "name": step.run.group.name}

    def get_overdue(self, step) -> bool:
        return step.display_state(self.context["now"]) == "overdue"

    def get_done_by(self, step) -> str | None:
        return step.done_by.public_name if step.done_by else None


class GroupRunSerializer(serializers.Serializer):
    playbook = serializers.DictField(allow_null=True)
    day0 = serializers.DateField(allow_null=True)
    steps = RunStepSerializer(many=True)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")


class RescheduleSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField()


class _StepsView(ShopView):
    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}


@extend_schema(tags=["shop"])
class ShopPlaybooksView(ShopView):
    serializer_class = PlaybookSerializer

    @extend_schema(
        summary="The shop's playbooks with their steps",
        responses={200: PlaybookSerializer(many=True), 403: SHOP_DENIED},
    )
    def get(self, request):
        playbooks = selectors.playbooks_for_shop(self.shop).prefetch_related("steps")
        return self.paginated(playbooks, PlaybookSerializer)


@extend_schema(tags=["shop"])
class ShopTodayStepsView(_StepsView):
    serializer_class = RunStepSerializer

    @extend_schema(
        summary="Today's playbook steps across the shop's groups, and earlier ones still waiting (overdue)",
        responses={200: RunStepSerializer(many=True), 403: SHOP_DENIED},
    )
    def get(self, request):
        return self.paginated(selectors.steps_for_day(self.shop), RunStepSerializer)


@extend_schema(tags=["shop"])
class ShopGroupPlaybookView(_StepsView):
    serializer_class = GroupRunSerializer

    @extend_schema(
        summary="A group's playbook run: its steps in order with their states",
        responses={200: GroupRunSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group = group_selectors.group_for_shop(self.shop, pk)
        run = selectors.run_of_group(group)
        steps = list(selectors.run_steps(run).select_related("run__group")) if run else []
        data = {
            "playbook": {"id": run.playbook_id, "name": run.playbook.name} if run else None,
            "day0": run.day0 if run else None,
            "steps": RunStepSerializer(steps, many=True, context=self.get_serializer_context()).data,
        }
        return Response(data)


def _step_action(summary: str, request_serializer, act):
    @extend_schema(tags=["shop"])
    class View(_StepsView):
        serializer_class = request_serializer

        @extend_schema(
            summary=summary,
            request=request_serializer,
            responses={200: RunStepSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
        )
        def post(self, request, pk: int):
            step = selectors.run_step_for_shop(self.shop, pk)
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            moved = act(step=step, by=request.user, **serializer.validated_data)
            return Response(RunStepSerializer(moved, context=self.get_serializer_context()).data)

    return View


ShopRunStepDoneView = _step_action("Mark an operator task done", NoteSerializer, services.mark_done)
ShopRunStepDoneView.__name__ = "ShopRunStepDoneView"
ShopRunStepSkipView = _step_action("Skip a pending or failed step", NoteSerializer, services.skip)
ShopRunStepSkipView.__name__ = "ShopRunStepSkipView"
ShopRunStepRescheduleView = _step_action(
    "Give a pending or failed step a new due time", RescheduleSerializer, services.reschedule
)
ShopRunStepRescheduleView.__name__ = "ShopRunStepRescheduleView"
